#!/usr/bin/env bash
# Backs up Sentori's PostgreSQL database (the source of truth; Valkey only
# holds work in flight) into a timestamped custom-format dump:
#
#   deploy/backup.sh [DIR]          default DIR: ./backups
#
# Reads SENTORI_DATABASE_URL. Uses pg_dump from SENTORI_PG_BIN when set,
# else from PATH; pg_dump must be at least the server's major version (18).
# Prints the path of the new dump. Restore with deploy/restore.sh.
#
# Source maps and attachments live in the data volume, not the database:
# back that folder up alongside (docs/self-hosting.md, "Backups").
set -euo pipefail

die() { printf 'backup: %s\n' "$*" >&2; exit 1; }

[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
(($# <= 1)) || die "usage: backup.sh [DIR]"
[[ -n ${SENTORI_DATABASE_URL:-} ]] || die "SENTORI_DATABASE_URL is not set"

pg_dump=pg_dump
[[ -z ${SENTORI_PG_BIN:-} ]] || pg_dump="$SENTORI_PG_BIN/pg_dump"
command -v "$pg_dump" >/dev/null || die "$pg_dump not found (set SENTORI_PG_BIN to the folder holding pg_dump)"

dir=${1:-backups}
# Dumps hold every event, token hash and session: readable by us only.
umask 077
mkdir -p "$dir"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
target="$dir/sentori-$stamp.dump"
[[ ! -e $target ]] || die "$target already exists"
partial="$target.partial"
trap 'rm -f "$partial"' EXIT

# -Fc: compressed, and pg_restore can restore selectively and in parallel.
# No owners or grants: the dump restores into whatever role runs restore.sh.
"$pg_dump" --format=custom --no-owner --no-privileges --file="$partial" --dbname="$SENTORI_DATABASE_URL"
# Only a complete dump gets the final name, so a failed run never looks
# like a backup.
mv "$partial" "$target"
trap - EXIT
printf '%s\n' "$target"
