#!/usr/bin/env bash
# `make stop`: stop what `make run` started (the services by their pid files,
# then the `run` stack). Safe to run at any time.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PID_DIR="$STACK_LINK/run/pids"

stop_services() {
  local f name
  # Ingest first so nothing new is accepted while the workers wind down.
  for name in ingest processor notifier retention admin-api; do
    [[ -e $PID_DIR/$name.pid ]] && stop_one "$PID_DIR/$name.pid"
  done
  # Anything else a later run.sh may have started.
  for f in "$PID_DIR"/*.pid; do
    [[ -e $f ]] && stop_one "$f"
  done
  return 0
}

stop_one() {
  local f=$1 name pid
  name=$(basename "$f" .pid)
  if pid=$(live_pid "$f" "$name"); then
    log "stopping $name (pid $pid)"
    stop_pid "$pid" "$name" 15
  fi
  rm -f "$f"
}

if [[ -d $PID_DIR ]]; then
  # Tells a run.sh still waiting in another terminal that its services are
  # going away on purpose, not crashing.
  touch "$PID_DIR/stop-requested"
  stop_services
fi
"$LOCAL_DIR/stack.sh" stop run
