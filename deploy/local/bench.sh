#!/usr/bin/env bash
# `make bench`: every benchmark, with the test stack up (same variables as
# test.sh): the crates' criterion benchmarks (`cargo bench --workspace`),
# then the load generators of `bench/`, which run the release binaries of
# ingest and the processor against a baseline in the same run, and the
# admin API's issue list and issue page on a seeded project, against its
# own SQL replayed straight on PostgreSQL, and the pipeline on a Valkey
# Cluster. Each figure is a line
# `bench: <name> <value> <unit>`. Extra arguments go to `cargo bench`.
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
export SENTORI_STACK_PG_BIN SENTORI_STACK_VALKEY_SERVER
unset SENTORI_DATABASE_URL SENTORI_VALKEY_URL

cd "$REPO_ROOT"
cargo bench --workspace "$@"

# The load generators start the service binaries themselves: build them
# first so a stale binary is never measured.
cargo build --release -p ingest -p processor -p admin-api -p sentori-bench
./target/release/ingest-bench
./target/release/processor-bench
# Ingest and processor together at the highest rate they keep up with.
./target/release/stack-bench
# The same on a three-primary Valkey Cluster with 16 stream partitions,
# against the single node in the same run, and the CPU each process kind
# spends per event (docs/self-hosting.md's capacity model).
./target/release/cluster-bench
# admin-bench's browser figures: the built dashboard, Debian's Chromium and
# playwright-core (e2e/browser's packages).
ensure_dashboard_built
ensure_apt_packages chromium
if [[ ! -d e2e/browser/node_modules/playwright-core ]]; then
  (cd e2e/browser && npm ci --no-audit --no-fund)
fi
# Seeds 1 M events with COPY (a few minutes, ~2 GB, dropped at the end);
# BENCH_ADMIN_EVENTS shrinks it.
./target/release/admin-bench
