#!/usr/bin/env bash
# `make fuzz`: every cargo-fuzz target for FUZZ_RUNS inputs (default 1 000 000),
# starting from its committed seeds. New corpus entries go to target/fuzz/,
# never into the repository; a crash leaves its input in the crate's artifacts/.
#
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 enables them on the
# stable toolchain these machines have.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${FUZZ_RUNS:-1000000}
# crate folder : target name
TARGETS=(
  "services/ingest/fuzz:body_parser"
  "services/ingest/fuzz:otlp"
  "services/processor/fuzz:handlers"
)

command -v cargo-fuzz >/dev/null || {
  log "installing cargo-fuzz (once)"
  cargo install cargo-fuzz --locked
}

for entry in "${TARGETS[@]}"; do
  crate=${entry%%:*} target=${entry##*:}
  work="$REPO_ROOT/target/fuzz/$target"
  mkdir -p "$work"
  seeds=()
  [[ -d $REPO_ROOT/$crate/corpus/$target ]] && seeds=("$REPO_ROOT/$crate/corpus/$target")
  log "fuzzing $target for $RUNS inputs"
  (cd "$REPO_ROOT/$crate" && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$work" "${seeds[@]}" -- -runs="$RUNS" -max_len=65536)
done
log "every target ran $RUNS inputs without a crash"
