#!/usr/bin/env bash
# `make run`: the whole of Sentori on this machine, in the foreground.
#
# Starts the `run` stack (PostgreSQL + Valkey), keeps generated secrets in
# .stack/run.env, builds the dashboard (web/dist) when it is missing or older
# than its sources, builds and starts every service on loopback, waits for
# each /healthz, prints how to use it, and stops everything on Ctrl-C.
# admin-api serves the dashboard itself (SENTORI_WEB_DIR) on its own address,
# the same origin as /admin/api, so no web server is needed.
#
# Variables set by the caller win over run.env:
#   SENTORI_RATE_LIMIT_PER_MIN=50 make run
# SENTORI_RUN_CARGO_PROFILE=dev builds debug binaries instead of release
# ones: quick after `make test`, which has compiled most of them already.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STACK="$LOCAL_DIR/stack.sh"
RUN_DIR="$STACK_LINK/run"
ENV_FILE="$STACK_LINK/run.env"
PID_DIR="$RUN_DIR/pids"
LOG_DIR="$RUN_DIR/logs"
HEALTH_TIMEOUT=${SENTORI_RUN_TIMEOUT:-90}
WEB_DIR="$REPO_ROOT/web"
CARGO_PROFILE=${SENTORI_RUN_CARGO_PROFILE:-release}
case $CARGO_PROFILE in
  release) BIN_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release" ;;
  dev) BIN_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug" ;;
  *) die "SENTORI_RUN_CARGO_PROFILE must be release or dev, not $CARGO_PROFILE" ;;
esac

# Start order; stop.sh goes by pid files, so it needs no list.
SERVICES=(ingest processor notifier retention admin-api)
declare -A ADDR_VAR=(
  [ingest]=SENTORI_INGEST_ADDR
  [admin-api]=SENTORI_ADMIN_API_ADDR
  [processor]=SENTORI_PROCESSOR_ADDR
  [notifier]=SENTORI_NOTIFIER_ADDR
  [retention]=SENTORI_RETENTION_ADDR
)
declare -A DEFAULT_ADDR=(
  [ingest]=127.0.0.1:8080
  [admin-api]=127.0.0.1:8081
  [processor]=127.0.0.1:8082
  [notifier]=127.0.0.1:8083
  [retention]=127.0.0.1:8084
)

# The caller's environment, captured before run.env is sourced, so that it can
# be laid back on top: what someone types on the command line must win.
declare -A CALLER_ENV=()
while IFS= read -r -d '' kv; do
  CALLER_ENV[${kv%%=*}]=${kv#*=}
done < <(env -0)

# --- secrets and configuration ------------------------------------------------

# Token format from protocol.md: st_pk_ + 26 lowercase Crockford base32 chars
# of 16 random bytes (the last char holds the 3 leftover bits, zero-padded).
generate_secrets() {
  python3 - <<'PY'
import secrets, string

alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
bits = int.from_bytes(secrets.token_bytes(16), "big") << 2  # 128 + 2 pad bits = 26 * 5
token = "".join(alphabet[(bits >> (5 * (25 - i))) & 31] for i in range(26))
chars = string.ascii_letters + string.digits
print(f"SENTORI_DEV_TOKEN=st_pk_{token}")
print("SENTORI_ADMIN_PASSWORD=" + "".join(secrets.choice(chars) for _ in range(20)))
print(f"SENTORI_SESSION_SECRET={secrets.token_hex(32)}")
PY
}

# Replace or append one KEY=value line, leaving every other line (and any
# hand edit) alone.
upsert_env() {
  local key=$1 line tmp
  line=$(printf '%s=%q' "$key" "$2")
  grep -qxF -- "$line" "$ENV_FILE" && return 0
  tmp=$(mktemp "$ENV_FILE.XXXXXX")
  grep -v "^$key=" "$ENV_FILE" >"$tmp" || true
  printf '%s\n' "$line" >>"$tmp"
  chmod 600 "$tmp"
  mv "$tmp" "$ENV_FILE"
}

write_env_file() {
  if [[ ! -f $ENV_FILE ]]; then
    log "generating secrets in $ENV_FILE (kept across runs; delete it to rotate)"
    (
      umask 077
      {
        echo "# Sentori local run: written once by deploy/local/run.sh, then kept."
        echo "# Variables set in the environment of \`make run\` override these."
        generate_secrets
      } >"$ENV_FILE.new"
      mv "$ENV_FILE.new" "$ENV_FILE"
    )
  fi
  chmod 600 "$ENV_FILE"
  # Derived from the stack and the checkout rather than chosen: refreshed on
  # every run so a changed stack port or a moved checkout never leaves the
  # file pointing at the wrong place.
  # Scoped to this function: `stack.sh env` prints all three.
  # shellcheck disable=SC2034
  local SENTORI_DATABASE_URL SENTORI_VALKEY_URL SENTORI_STACK_PG_BIN
  eval "$("$STACK" env run)"
  upsert_env SENTORI_DATABASE_URL "$SENTORI_DATABASE_URL"
  upsert_env SENTORI_VALKEY_URL "$SENTORI_VALKEY_URL"
  upsert_env SENTORI_DATA_DIR "$REPO_ROOT/.stack/run/data"
  upsert_env SENTORI_ATTACHMENT_DIR "$REPO_ROOT/.stack/run/attachments"
}

load_env() {
  set -a
  # shellcheck disable=SC1090
  source "$ENV_FILE"
  set +a
  local key
  for key in "${!CALLER_ENV[@]}"; do
    [[ $key == SENTORI_* || $key == RUST_LOG ]] && export "$key=${CALLER_ENV[$key]}"
  done
  local svc
  for svc in "${SERVICES[@]}"; do
    export "${ADDR_VAR[$svc]}=${!ADDR_VAR[$svc]:-${DEFAULT_ADDR[$svc]}}"
  done
  export RUST_LOG=${RUST_LOG:-info}
  export SENTORI_WEB_DIR="$WEB_DIR/dist"
  mkdir -p "$SENTORI_DATA_DIR" "$SENTORI_ATTACHMENT_DIR" "$PID_DIR" "$LOG_DIR"
  publish_urls
}

# The addresses to reach this run by, derived from the listen addresses of
# this run, written back to run.env for `source .stack/run.env` (the README,
# the CLI). The dashboard is admin-api's address; SENTORI_PUBLIC_URL must be
# that origin too, as cookie-authenticated changes are accepted from it only.
publish_urls() {
  local -A url=(
    [SENTORI_INGEST_URL]="http://$SENTORI_INGEST_ADDR"
    [SENTORI_ADMIN_URL]="http://$SENTORI_ADMIN_API_ADDR"
    [SENTORI_WEB_URL]="http://$SENTORI_ADMIN_API_ADDR"
    [SENTORI_PUBLIC_URL]="http://$SENTORI_ADMIN_API_ADDR"
  )
  local key
  for key in "${!url[@]}"; do
    export "$key=${CALLER_ENV[$key]:-${url[$key]}}"
    upsert_env "$key" "${!key}"
  done
}

# Numbered steps, so the long first run says where it is.
STEP=0
STEPS=4
step() {
  STEP=$((STEP + 1))
  log "step $STEP/$STEPS: $*"
}

# --- services -----------------------------------------------------------------

build() {
  local args=(--profile "$CARGO_PROFILE") svc
  for svc in "${SERVICES[@]}"; do args+=(--bin "$svc"); done
  step "building the services (cargo build ${args[*]}; the first build takes several minutes)"
  # The queries compile against their record in .sqlx/, whatever database
  # the caller's environment names (make test's own build checks them live).
  (cd "$REPO_ROOT" && SQLX_OFFLINE=true cargo build "${args[@]}")
}

start_service() {
  local svc=$1 bin log
  bin="$BIN_DIR/$svc"
  log="$LOG_DIR/$svc.log"
  [[ -x $bin ]] || die "$bin is missing after the build"
  printf '\n--- %s: starting %s\n' "$(date -u +%FT%TZ)" "$svc" >>"$log"
  # Own session: Ctrl-C reaches this script, which stops the services in
  # order, instead of hitting every process at once.
  setsid "$bin" >>"$log" 2>&1 </dev/null &
  echo $! >"$PID_DIR/$svc.pid"
}

wait_healthy() {
  local svc=$1 addr=${!ADDR_VAR[$1]} pid deadline=$((SECONDS + HEALTH_TIMEOUT))
  pid=$(<"$PID_DIR/$svc.pid")
  until http_ok "$addr" /healthz; do
    if ! pid_running "$pid"; then
      show_log_tail "$LOG_DIR/$svc.log"
      die "$svc exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$LOG_DIR/$svc.log"
      die "$svc did not answer http://$addr/healthz within ${HEALTH_TIMEOUT}s"
    fi
    sleep 0.3
  done
  log "$svc is up on $addr"
}

refuse_if_running() {
  local f
  for f in "$PID_DIR"/*.pid; do
    [[ -e $f ]] || continue
    if live_pid "$f" "$(basename "$f" .pid)" >/dev/null; then
      die "Sentori is already running ($(basename "$f" .pid), pid $(<"$f")); \`make stop\` first"
    fi
  done
}

# --- dashboard ----------------------------------------------------------------

build_dashboard() {
  if dashboard_stale; then
    step "building the dashboard (web/dist)"
    ensure_dashboard_built
  else
    step "the dashboard is up to date (web/dist)"
  fi
}

banner() {
  local uuid now
  uuid=$(cat /proc/sys/kernel/random/uuid)
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  cat <<EOF

Sentori is running (logs: .stack/run/logs/, secrets: .stack/run.env)

  dashboard       $SENTORI_WEB_URL
  admin password  $SENTORI_ADMIN_PASSWORD

  ingest          $SENTORI_INGEST_URL
  admin API       $SENTORI_ADMIN_URL/admin/api
  dev token       $SENTORI_DEV_TOKEN
  database        $SENTORI_DATABASE_URL
  valkey          $SENTORI_VALKEY_URL

Send an event:

  curl -sS -X POST http://$SENTORI_INGEST_ADDR/v1/events \\
    -H 'Authorization: Bearer $SENTORI_DEV_TOKEN' \\
    -H 'Content-Type: application/json' \\
    -d '{"id":"$uuid","timestamp":"$now","kind":"error",
         "platform":"javascript","release":"myapp@1.0.0+1","environment":"dev",
         "device":{"os":"web","osVersion":"1"},"app":{"version":"1.0.0"},
         "error":{"type":"TypeError","message":"x is undefined",
                  "stack":[{"file":"app.js","line":10,"column":5,"function":"main"}]}}'

Ctrl-C stops everything (or \`make stop\` from another terminal).
EOF
}

# --- main ---------------------------------------------------------------------

# Whatever way this script ends (Ctrl-C, a failed build, a service dying),
# it takes the services and the stack down with it.
# shellcheck disable=SC2317 # called from traps
cleanup() {
  trap - EXIT INT TERM HUP
  printf '\n' >&2
  log "stopping Sentori"
  "$LOCAL_DIR/stop.sh" || true
}

main() {
  # Nothing is created under .stack before stack.sh has decided where it
  # lives: a real folder made here would stop it from moving the stack out
  # of a checkout its server user cannot reach (any clone under /root).
  refuse_if_running
  rm -f "$PID_DIR/stop-requested"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  step "starting PostgreSQL and Valkey (the first run installs them into .stack/)"
  "$STACK" start run
  write_env_file
  load_env
  build_dashboard
  build
  step "starting the services"
  local svc
  for svc in "${SERVICES[@]}"; do start_service "$svc"; done
  for svc in "${SERVICES[@]}"; do wait_healthy "$svc"; done
  banner

  # Stay in the foreground; a service that dies ends the run loudly instead
  # of leaving a half-working system behind.
  local f name pids=() done_pid='' status=0
  for f in "$PID_DIR"/*.pid; do pids+=("$(<"$f")"); done
  wait -n -p done_pid "${pids[@]}" || status=$?
  if [[ -e $PID_DIR/stop-requested ]]; then
    log "stopped by \`make stop\`"
    exit 0
  fi
  for f in "$PID_DIR"/*.pid; do
    [[ $(<"$f") == "$done_pid" ]] || continue
    name=$(basename "$f" .pid)
    log "$name exited with status $status"
    show_log_tail "$LOG_DIR/$name.log"
  done
  exit 1
}

main "$@"
