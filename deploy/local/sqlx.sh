#!/usr/bin/env bash
# The data behind sqlx's compile-time checked queries (`sqlx::query!` and
# friends). A build reads it from .sqlx/ at the repository root and needs no
# database; this script writes it from a database migrated from
# migrations/, on the test stack (started if it is not running).
#
#   sqlx.sh prepare       rewrite .sqlx/ after changing a query or a migration
#   sqlx.sh env DIR       print the variables under which a build checks every
#                         query against that database and records what it
#                         found in DIR (test.sh builds so)
#   sqlx.sh compare DIR [--all]
#                         fail unless each record in DIR is the one in .sqlx/;
#                         with --all, also unless .sqlx/ holds nothing more
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STACK="$LOCAL_DIR/stack.sh"
DATA_DIR="$REPO_ROOT/.sqlx"
# Its own database, dropped and migrated afresh each time, so a schema
# left behind by a test or a half-written migration never decides a type.
SCHEMA_DB=sentori_sqlx_schema

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Prints the URL of a database that has every migration and nothing else.
schema_database() {
  "$STACK" status test >/dev/null 2>&1 || "$STACK" start test >&2
  local SENTORI_DATABASE_URL SENTORI_VALKEY_URL SENTORI_STACK_PG_BIN SENTORI_STACK_VALKEY_SERVER
  eval "$("$STACK" env test)"
  local url=${SENTORI_DATABASE_URL%/*}/$SCHEMA_DB
  local psql=("$SENTORI_STACK_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)
  "${psql[@]}" -d "$SENTORI_DATABASE_URL" -c "DROP DATABASE IF EXISTS $SCHEMA_DB WITH (FORCE)" -c "CREATE DATABASE $SCHEMA_DB"
  local migration
  for migration in "$REPO_ROOT"/migrations/*.sql; do
    # One transaction per file, as sqlx's migrator applies them.
    "${psql[@]}" -d "$url" -1 -f "$migration" >/dev/null || die "migration $(basename "$migration") failed"
  done
  printf '%s\n' "$url"
}

cmd_env() {
  local dir=${1:?usage: sqlx.sh env DIR}
  local url
  url=$(schema_database)
  printf 'export DATABASE_URL=%q SQLX_OFFLINE=false SQLX_OFFLINE_DIR=%q\n' "$url" "$dir"
}

cmd_compare() {
  local dir=${1:?usage: sqlx.sh compare DIR [--all]} all=${2:-}
  local record name status=0
  for record in "$dir"/query-*.json; do
    [[ -e $record ]] || break
    name=$(basename "$record")
    if ! cmp -s "$record" "$DATA_DIR/$name"; then
      log "$name: the query or its types changed and .sqlx/ has not"
      status=1
    fi
  done
  if [[ $all == --all ]]; then
    for record in "$DATA_DIR"/query-*.json; do
      [[ -e $record ]] || break
      name=$(basename "$record")
      [[ -e $dir/$name ]] || { log "$name: no query of the code is this one any more"; status=1; }
    done
  fi
  ((status == 0)) || die ".sqlx/ is out of date; run deploy/local/sqlx.sh prepare and commit .sqlx/"
}

# Builds everything `make test` builds, so every query is seen once.
cmd_prepare() {
  local dir
  dir=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$dir'" EXIT
  eval "$(cmd_env "$dir")"
  (cd "$REPO_ROOT" && cargo test --workspace --all-targets --no-run)
  rm -rf "$DATA_DIR"
  mkdir -p "$DATA_DIR"
  cp "$dir"/query-*.json "$DATA_DIR"/
  log "wrote $(find "$DATA_DIR" -name 'query-*.json' | wc -l) query records to .sqlx/"
}

case ${1:-} in
  prepare) cmd_prepare ;;
  env) shift; cmd_env "$@" ;;
  compare) shift; cmd_compare "$@" ;;
  *) usage ;;
esac
