#!/usr/bin/env bash
# `make bench`: `cargo bench --workspace` with the test stack up, for
# benchmarks that need PostgreSQL or Valkey (same variables as test.sh).
# Extra arguments go to `cargo bench`. This measures whatever benchmarks the
# crates define; it adds no load generator of its own yet.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STACK="$LOCAL_DIR/stack.sh"

if "$STACK" status test >/dev/null 2>&1; then
  log "test stack was already running; leaving it up"
else
  trap '"$STACK" stop test' EXIT
fi
"$STACK" start test
eval "$("$STACK" env test)"
export SENTORI_TEST_DATABASE_URL=$SENTORI_DATABASE_URL
export SENTORI_TEST_VALKEY_URL=$SENTORI_VALKEY_URL
export SENTORI_STACK_PG_BIN
unset SENTORI_DATABASE_URL SENTORI_VALKEY_URL

cd "$REPO_ROOT"
cargo bench --workspace "$@"
