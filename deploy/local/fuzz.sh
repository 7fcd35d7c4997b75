#!/usr/bin/env bash
# `make fuzz`: every cargo-fuzz target for FUZZ_RUNS inputs (default 1 000 000),
# or for FUZZ_SECONDS seconds when that is set (`make test` runs each target
# briefly that way), starting from its committed seeds. New corpus entries go to target/fuzz/,
# never into the repository; a crash leaves its input in the crate's artifacts/.
#
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 enables them on the
# stable toolchain these machines have.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${FUZZ_RUNS:-1000000}
SECONDS_EACH=${FUZZ_SECONDS:-}
if [[ -n $SECONDS_EACH ]]; then
  LIMIT=(-max_total_time="$SECONDS_EACH") WHAT="$SECONDS_EACH s"
else
  LIMIT=(-runs="$RUNS") WHAT="$RUNS inputs"
fi
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
  log "fuzzing $target for $WHAT"
  (cd "$REPO_ROOT/$crate" && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$work" "${seeds[@]}" -- "${LIMIT[@]}" -max_len=65536)
done
log "every target ran $WHAT without a crash"
