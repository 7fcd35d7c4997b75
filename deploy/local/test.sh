#!/usr/bin/env bash
# `make test`: every test suite, against a private PostgreSQL + Valkey (the
# `test` profile: its own ports and data, never the `run` stack).
#
# Extra arguments go to `cargo test`:  deploy/local/test.sh -p sentori-store
# Tests get SENTORI_TEST_DATABASE_URL (they create their own databases from
# it; the role is a superuser of this throwaway cluster) and
# SENTORI_TEST_VALKEY_URL, plus SENTORI_STACK_PG_BIN for psql/pg_dump.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STACK="$LOCAL_DIR/stack.sh"

# Debian packages the cargo suites need on a fresh machine (CI starts from
# one): none beyond what the machine has. The browser suite installs its own
# (chromium, nginx) in e2e/browser/run.sh.
APT_PACKAGES=()

# A stack someone started by hand (to iterate with plain `cargo test`) stays
# up afterwards; one this script started is stopped, on failure too.
STOP_STACK=0
stop_stack_on_exit() {
  if "$STACK" status test >/dev/null 2>&1; then
    log "test stack was already running; leaving it up"
    return 0
  fi
  STOP_STACK=1
}

SQLX_RECORD=
clean_up() {
  [[ -z $SQLX_RECORD ]] || rm -rf "$SQLX_RECORD"
  ((STOP_STACK == 0)) || "$STACK" stop test
}
trap clean_up EXIT

main() {
  command -v cargo >/dev/null || die "cargo is not on PATH"
  ((${#APT_PACKAGES[@]} == 0)) || ensure_apt_packages "${APT_PACKAGES[@]}"

  stop_stack_on_exit
  "$STACK" start test
  local SENTORI_DATABASE_URL SENTORI_VALKEY_URL SENTORI_STACK_PG_BIN SENTORI_STACK_VALKEY_SERVER
  eval "$("$STACK" env test)"
  export SENTORI_TEST_DATABASE_URL=$SENTORI_DATABASE_URL
  export SENTORI_TEST_VALKEY_URL=$SENTORI_VALKEY_URL
  export SENTORI_STACK_PG_BIN SENTORI_STACK_VALKEY_SERVER
  # A developer's shell may carry the `run` stack's URLs; no test may reach it.
  unset SENTORI_DATABASE_URL SENTORI_VALKEY_URL

  # A full run gains little from incremental compilation and its state is
  # the largest part of a clean build's target/ (CI's disk is not ours to
  # size). A developer iterating with plain `cargo test` keeps it.
  export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

  # The query macros check each query against a database migrated afresh
  # (not against .sqlx/, which only records such a check) and record what
  # they found in a folder of this run; that record must be .sqlx/.
  SQLX_RECORD=$(mktemp -d)
  eval "$("$LOCAL_DIR/sqlx.sh" env "$SQLX_RECORD")"

  local status=0
  (cd "$REPO_ROOT" && cargo test --workspace --all-targets "$@") || status=$?

  # A run of some crates (arguments given) recorded only their queries.
  local whole=()
  (($# > 0)) || whole=(--all)
  if ((status == 0)); then
    "$LOCAL_DIR/sqlx.sh" compare "$SQLX_RECORD" "${whole[@]}" || status=$?
  fi

  # The dashboard in Debian's headless Chromium behind deploy/nginx.conf;
  # the script installs chromium, nginx and playwright-core itself.
  if ((status == 0)); then
    bash "$REPO_ROOT/e2e/browser/run.sh" || status=$?
  fi

  # The dashboard's type check (against types generated afresh from
  # openapi.json) and unit tests (vitest), every run: the browser suite above
  # rebuilds web/dist only when it is older than its sources. It has already
  # installed web/'s packages.
  if ((status == 0)); then
    (cd "$REPO_ROOT/web" && npm run typecheck && npm test) || status=$?
  fi

  # The deploy files (compose, Kubernetes, monitoring) and the backup and
  # restore scripts, with the stack venv's pytest (requirements.txt).
  if ((status == 0)); then
    (cd "$REPO_ROOT" && PYTHONDONTWRITEBYTECODE=1 "$STACK_LINK/venv/bin/python" -m pytest \
      -p no:cacheprovider deploy/tests) || status=$?
  fi

  # Every fuzz target, briefly, so none can stop building unnoticed and a
  # shallow crash is found here rather than in `make fuzz`.
  if ((status == 0)); then
    FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash "$LOCAL_DIR/fuzz.sh" || status=$?
  fi

  return "$status"
}

main "$@"
