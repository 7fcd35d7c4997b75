#!/usr/bin/env bash
# Restores a dump made by deploy/backup.sh into Sentori's database,
# replacing what is there:
#
#   deploy/restore.sh --yes FILE
#
# Reads SENTORI_DATABASE_URL. Uses pg_restore and psql from SENTORI_PG_BIN
# when set, else from PATH. Stop the Sentori services first (they hold
# locks and would write into a half-restored database); start them again
# afterwards. The restore is one transaction: it either completes or
# changes nothing.
#
# Migrations only go forward, so restoring a dump taken before an update
# is also how an update is rolled back (together with the older images).
set -euo pipefail

die() { printf 'restore: %s\n' "$*" >&2; exit 1; }
usage() { die "usage: restore.sh --yes FILE   (replaces the database's contents)"; }

[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
if (($# != 2)) || [[ $1 != --yes ]]; then usage; fi
file=$2
[[ -f $file && -r $file ]] || die "$file is not a readable file"
[[ -n ${SENTORI_DATABASE_URL:-} ]] || die "SENTORI_DATABASE_URL is not set"

pg_restore=pg_restore psql=psql
if [[ -n ${SENTORI_PG_BIN:-} ]]; then
  pg_restore="$SENTORI_PG_BIN/pg_restore" psql="$SENTORI_PG_BIN/psql"
fi
for tool in "$pg_restore" "$psql"; do
  command -v "$tool" >/dev/null || die "$tool not found (set SENTORI_PG_BIN to the folder holding pg_restore and psql)"
done

# Reject something that is not a custom-format dump before touching the
# database.
"$pg_restore" --list "$file" >/dev/null || die "$file is not a pg_dump custom-format archive"

# --clean --if-exists drops each object of the dump before recreating it,
# so what the dump holds ends up exactly as dumped and anything else in the
# database is left alone. Its drops trip over partitioned tables (events,
# spans): it tries to drop each partition's inherited primary key first,
# which PostgreSQL refuses. So the partitioned tables (with their
# partitions) are dropped up front, and everything runs in one psql
# transaction: a failure anywhere leaves the database as it was.
{
  cat <<'SQL'
DO $drop$
DECLARE
    partitioned regclass;
BEGIN
    FOR partitioned IN
        SELECT c.oid::regclass
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'p' AND NOT c.relispartition AND n.nspname = 'public'
    LOOP
        EXECUTE format('DROP TABLE IF EXISTS %s CASCADE', partitioned);
    END LOOP;
END
$drop$;
SQL
  # Should pg_restore fail halfway, psql must not commit what it got: a
  # statement that raises (or breaks the truncated one) rolls it all back.
  "$pg_restore" --clean --if-exists --no-owner --no-privileges --file=- "$file" ||
    printf '%s\n' ';' "DO \$\$ BEGIN RAISE EXCEPTION 'pg_restore failed: nothing was changed'; END \$\$;"
} | "$psql" --no-psqlrc --quiet --single-transaction --set=ON_ERROR_STOP=1 \
  --dbname="$SENTORI_DATABASE_URL" >/dev/null
printf 'restored %s\n' "$file"
