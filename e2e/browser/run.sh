#!/usr/bin/env bash
# Browser tests of the dashboard: Debian's headless Chromium driven by
# playwright-core, against the real services behind deploy/nginx.conf.
#
#   bash e2e/browser/run.sh            (make test runs it after cargo test)
#   bash e2e/browser/run.sh tests/release.test.mjs    (some files only)
#
# Installs what it needs (Debian chromium and nginx, playwright-core from
# npm, the built SPA), starts the `test` stack, creates a fresh database and
# Valkey namespace, starts ingest, processor and admin-api (debug builds) on
# free loopback ports, renders deploy/nginx.conf in front of them, runs
# `node --test` over tests/, and stops everything it started. Screenshots of
# every page land in e2e/browser/screenshots/ (git-ignored) for a person to
# look at.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../deploy/local/lib.sh
source "$HERE/../../deploy/local/lib.sh"
STACK="$LOCAL_DIR/stack.sh"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sentori-browser.XXXXXX")"
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_http() {
  local url=$1 what=$2 deadline=$((SECONDS + 90))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    ((SECONDS < deadline)) || die "$what did not answer $url within 90 s (logs: $WORK)"
    sleep 0.2
  done
}

install_tools() {
  ensure_apt_packages chromium nginx curl gettext-base
  # Reinstalled whenever package-lock.json is newer than the installed tree,
  # unless node_modules links to another checkout's (npm ci would empty it).
  if [[ ! -L $HERE/node_modules ]] &&
    [[ ! -f $HERE/node_modules/.package-lock.json || $HERE/package-lock.json -nt $HERE/node_modules/.package-lock.json ]]; then
    log "installing playwright-core, @sentry/browser and esbuild (npm ci in e2e/browser)"
    (cd "$HERE" && npm ci --no-audit --no-fund)
  fi
  ensure_dashboard_built
  # SENTORI_BROWSER_SKIP_BUILD=1 reuses the debug binaries already built.
  if [[ ${SENTORI_BROWSER_SKIP_BUILD:-} != 1 ]]; then
    log "building ingest, processor and admin-api"
    (cd "$REPO_ROOT" && cargo build --bin ingest --bin processor --bin admin-api)
  fi
}

start_services() {
  "$STACK" start test
  local SENTORI_DATABASE_URL SENTORI_VALKEY_URL SENTORI_STACK_PG_BIN SENTORI_STACK_VALKEY_SERVER
  eval "$("$STACK" env test)"
  local db="browser_$(date +%s)_$$"
  "$SENTORI_STACK_PG_BIN/psql" -q -d "$SENTORI_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
  local base_url=${SENTORI_DATABASE_URL%/*}
  local target="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug"
  local web_port ingest_port admin_port processor_port
  web_port=$(free_port); ingest_port=$(free_port); admin_port=$(free_port); processor_port=$(free_port)

  export SENTORI_DATABASE_URL="$base_url/$db" SENTORI_VALKEY_URL
  export SENTORI_VALKEY_NAMESPACE="browser-$db"
  export SENTORI_DEV_TOKEN SENTORI_ADMIN_PASSWORD SENTORI_SESSION_SECRET
  SENTORI_DEV_TOKEN="st_pk_$(python3 -c 'import secrets; a="0123456789abcdefghjkmnpqrstvwxyz"; print("".join(secrets.choice(a) for _ in range(25)) + "0")')"
  SENTORI_ADMIN_PASSWORD="browser-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
  SENTORI_SESSION_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
  export SENTORI_PUBLIC_URL="http://127.0.0.1:$web_port"
  export SENTORI_DATA_DIR="$WORK/data" SENTORI_ATTACHMENT_DIR="$WORK/attachments"
  export RUST_LOG=${RUST_LOG:-warn}
  mkdir -p "$SENTORI_DATA_DIR" "$SENTORI_ATTACHMENT_DIR"

  SENTORI_INGEST_ADDR="127.0.0.1:$ingest_port" "$target/ingest" >"$WORK/ingest.log" 2>&1 &
  PIDS+=($!)
  SENTORI_PROCESSOR_ADDR="127.0.0.1:$processor_port" "$target/processor" >"$WORK/processor.log" 2>&1 &
  PIDS+=($!)
  SENTORI_ADMIN_API_ADDR="127.0.0.1:$admin_port" "$target/admin-api" >"$WORK/admin-api.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$ingest_port/healthz" ingest
  wait_http "http://127.0.0.1:$processor_port/healthz" processor
  wait_http "http://127.0.0.1:$admin_port/healthz" admin-api

  # deploy/nginx.conf exactly as production renders it.
  mkdir -p "$WORK/nginx"
  SENTORI_WEB_PORT=$web_port SENTORI_WEB_ROOT="$REPO_ROOT/web/dist" \
    SENTORI_ADMIN_API_UPSTREAM="127.0.0.1:$admin_port" SENTORI_INGEST_UPSTREAM="127.0.0.1:$ingest_port" \
    envsubst '${SENTORI_WEB_PORT} ${SENTORI_WEB_ROOT} ${SENTORI_ADMIN_API_UPSTREAM} ${SENTORI_INGEST_UPSTREAM}' \
    <"$REPO_ROOT/deploy/nginx.conf" >"$WORK/nginx/nginx.conf"
  local user=()
  # As root, workers would drop to `nobody`, which may not read the checkout.
  is_root && user=(-g 'user root;')
  nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" "${user[@]}" &
  PIDS+=($!)
  wait_http "$SENTORI_PUBLIC_URL/" nginx
  export SENTORI_WEB_URL=$SENTORI_PUBLIC_URL
}

main() {
  install_tools
  start_services
  mkdir -p "$HERE/screenshots"
  export SENTORI_SCREENSHOT_DIR="$HERE/screenshots" CHROMIUM_PATH=${CHROMIUM_PATH:-$(command -v chromium)}
  log "browser tests against $SENTORI_WEB_URL (screenshots in $SENTORI_SCREENSHOT_DIR)"
  local status=0
  local files=("$@")
  ((${#files[@]} > 0)) || files=(tests/)
  (cd "$HERE" && node --test --test-concurrency=1 "${files[@]}") || status=$?
  if ((status != 0)); then
    local f
    for f in "$WORK"/*.log "$WORK"/nginx/error.log; do
      [[ -s $f ]] && { echo "--- $f"; tail -n 30 "$f"; }
    done
  fi
  return "$status"
}

main "$@"
