# Shared helpers for the local-stack scripts. Sourced, never executed.
# shellcheck shell=bash

# Absolute, symlink-free repo root: processes that run as another user (the
# `sentori` system user) start from `/`, so every path handed to them must be
# absolute. (These variables are used by the scripts that source this file.)
# shellcheck disable=SC2034
{
  REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
  LOCAL_DIR="$REPO_ROOT/deploy/local"
  STACK_LINK="$REPO_ROOT/.stack"
}

# CI's umask is not ours to know; the unprivileged database user has to read
# the binaries and config files we create, so make the default predictable
# and tighten secrets explicitly where they are written.
umask 022

log() { printf '[sentori] %s\n' "$*" >&2; }
die() { printf '[sentori] error: %s\n' "$*" >&2; exit 1; }

is_root() { [[ $EUID -eq 0 ]]; }

# Last lines of a log, indented, so a failure explains itself without the
# reader having to go and find the file.
show_log_tail() {
  local file=$1 lines=${2:-30}
  if [[ -s $file ]]; then
    printf '[sentori] --- last %s lines of %s ---\n' "$lines" "$file" >&2
    tail -n "$lines" "$file" | sed 's/^/    /' >&2
  else
    printf '[sentori] (%s is empty or missing)\n' "$file" >&2
  fi
}

read_pid() {
  local file=$1 pid
  [[ -f $file ]] || return 1
  read -r pid <"$file" || true
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$pid"
}

# A pid file only proves something if the pid is alive *and* is the program we
# expect: after a crash or reboot the number may belong to something else.
pid_matches() {
  local pid=$1 pattern=$2 cmdline
  pid_running "$pid" || return 1
  cmdline=$(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null) || return 1
  [[ $cmdline == *"$pattern"* ]]
}

# Running pid from a pid file, or nothing (and status 1). A stale file is
# removed so the next start does not trip over it.
live_pid() {
  local file=$1 pattern=$2 pid
  pid=$(read_pid "$file") || { rm -f "$file"; return 1; }
  if pid_matches "$pid" "$pattern"; then
    printf '%s\n' "$pid"
    return 0
  fi
  if pid_running "$pid"; then
    log "removing stale pid file $file (pid $pid is now another program)"
  else
    log "removing stale pid file $file (pid $pid is gone)"
  fi
  rm -f "$file"
  return 1
}

# Alive and not a zombie. A daemon's parent is whatever reaps orphans here,
# and that may take seconds to do so; an exited server must not count as up.
pid_running() {
  local stat
  stat=$(cat /proc/"$1"/stat 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# TERM, then KILL after a grace period: a dev stack must always be stoppable.
stop_pid() {
  local pid=$1 name=$2 grace=${3:-15} waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while pid_running "$pid"; do
    if ((waited >= grace * 10)); then
      log "$name (pid $pid) ignored TERM for ${grace}s, killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# Is something accepting TCP connections on 127.0.0.1:<port>? Done in a
# subshell so the redirections never leak into the caller.
tcp_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# GET http://<addr>/<path> with bash alone (curl may be missing on a fresh
# box); true on a 2xx status line.
http_ok() {
  local addr=$1 path=$2 status
  status=$(
    host=${addr%:*} port=${addr##*:}
    exec 2>/dev/null # bash reports a refused connection on stderr
    exec 3<>"/dev/tcp/$host/$port" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$addr" >&3
    IFS= read -r -t 5 line <&3 && printf '%s' "$line"
  ) || return 1
  [[ $status =~ ^HTTP/[0-9.]+\ 2[0-9][0-9] ]]
}

# Install Debian packages a later step needs, only those missing, with one
# `apt-get update` per run. For suites added later (browser tests need
# chromium and chromium-driver, for example).
_SENTORI_APT_UPDATED=
ensure_apt_packages() {
  local pkg missing=()
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  ((${#missing[@]})) || return 0
  local sudo=()
  if ! is_root; then
    command -v sudo >/dev/null || die "missing Debian packages: ${missing[*]} (install them as root)"
    sudo=(sudo)
  fi
  log "installing Debian packages: ${missing[*]}"
  if [[ -z $_SENTORI_APT_UPDATED ]]; then
    "${sudo[@]}" apt-get update -q
    _SENTORI_APT_UPDATED=1
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# --- the dashboard --------------------------------------------------------------

# web/dist is rebuilt when anything it is built from is newer than its
# index.html, which every build rewrites: `make run` and the browser tests
# must never serve a dashboard older than its sources. schema.d.ts is not a
# source: every type check rewrites it from openapi.json, which is one.
dashboard_stale() {
  local web="$REPO_ROOT/web" newer
  [[ -f $web/dist/index.html ]] || return 0
  newer=$(find "$web/src" "$web/public" "$web/index.html" "$web/package.json" \
    "$web/package-lock.json" "$web/vite.config.ts" "$web/tsconfig.json" \
    ! -path "$web/src/api/schema.d.ts" -newer "$web/dist/index.html" -print -quit 2>/dev/null)
  [[ -n $newer ]]
}

# npm keeps a copy of the lock file it installed from in node_modules.
dashboard_packages_stale() {
  local web="$REPO_ROOT/web"
  # A link to another checkout's packages (a git worktree sharing them) is
  # never reinstalled: npm ci would empty the other checkout's folder.
  [[ -L $web/node_modules ]] && return 1
  [[ ! -f $web/node_modules/.package-lock.json || $web/package-lock.json -nt $web/node_modules/.package-lock.json ]]
}

# Builds web/dist when it is missing or older than its sources.
ensure_dashboard_built() {
  dashboard_stale || return 0
  command -v npm >/dev/null || die "npm is not on PATH: the dashboard needs Node.js 20.19 or later with npm"
  if dashboard_packages_stale; then
    log "installing the dashboard's packages (npm ci in web/)"
    (cd "$REPO_ROOT/web" && npm ci --no-audit --no-fund)
  fi
  log "bundling the dashboard (npm run build in web/)"
  (cd "$REPO_ROOT/web" && npm run build)
}
