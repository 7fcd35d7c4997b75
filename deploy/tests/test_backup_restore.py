"""deploy/backup.sh and deploy/restore.sh against the test stack's real
PostgreSQL 18: a throwaway database with Sentori's schema is backed up,
damaged, restored, and checked."""

import os
import re
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from conftest import DEPLOY, REPO

PG_BIN = os.environ.get("SENTORI_STACK_PG_BIN")
ADMIN_URL = os.environ.get("SENTORI_TEST_DATABASE_URL")

pytestmark = pytest.mark.skipif(
    not (PG_BIN and ADMIN_URL),
    reason="needs the test stack: run through `make test` (SENTORI_STACK_PG_BIN, SENTORI_TEST_DATABASE_URL)",
)


def with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def psql(url, sql):
    result = subprocess.run(
        [f"{PG_BIN}/psql", "--no-psqlrc", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, f"psql {sql!r}: {result.stderr}"
    return result.stdout.strip()


@pytest.fixture
def database():
    """A fresh database with every migration applied, dropped afterwards."""
    name = f"backup_{uuid.uuid4().hex}"
    psql(ADMIN_URL, f"CREATE DATABASE {name}")
    url = with_database(ADMIN_URL, name)
    try:
        for migration in sorted((REPO / "migrations").glob("*.sql")):
            result = subprocess.run(
                [f"{PG_BIN}/psql", "--no-psqlrc", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(migration)],
                capture_output=True, text=True, check=False,
            )
            assert result.returncode == 0, f"{migration.name}: {result.stderr}"
        yield url
    finally:
        psql(ADMIN_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run(script, *args, url):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SENTORI_DATABASE_URL": url,
        "SENTORI_PG_BIN": PG_BIN,
    }
    return subprocess.run(["bash", str(DEPLOY / script), *args], env=env, capture_output=True, text=True, check=False)


def test_a_backup_restores_a_dropped_table_and_lost_rows(database, tmp_path):
    psql(database, "INSERT INTO recipients (project_id, id, email) SELECT id, gen_random_uuid(), 'ops@example.com' FROM projects")
    projects_before = psql(database, "SELECT count(*) FROM projects")
    assert projects_before != "0", "the dev project migration created a project"

    backup = run("backup.sh", str(tmp_path / "backups"), url=database)
    assert backup.returncode == 0, backup.stderr
    dump = Path(backup.stdout.strip())
    assert dump.parent == tmp_path / "backups"
    assert re.fullmatch(r"sentori-\d{8}T\d{6}Z\.dump", dump.name), dump.name
    assert dump.stat().st_size > 0
    assert dump.stat().st_mode & 0o077 == 0, "the dump is readable by its owner only"
    assert not list(dump.parent.glob("*.partial")), "no partial file is left behind"

    # Damage: a table gone, rows gone, a row that was never backed up.
    # CASCADE: the notification_recipients view depends on it.
    psql(database, "DROP TABLE recipients CASCADE")
    psql(database, "DROP TABLE events CASCADE")
    psql(database, "DELETE FROM projects")
    psql(database, "CREATE TABLE scratch (x int)")

    refused = run("restore.sh", str(dump), url=database)
    assert refused.returncode != 0, "restore.sh does nothing without --yes"
    assert psql(database, "SELECT to_regclass('recipients') IS NULL") == "t"

    restore = run("restore.sh", "--yes", str(dump), url=database)
    assert restore.returncode == 0, restore.stderr
    assert psql(database, "SELECT email FROM recipients") == "ops@example.com"
    assert psql(database, "SELECT email FROM notification_recipients") == "ops@example.com", "the view is back too"
    assert psql(database, "SELECT count(*) FROM projects") == projects_before
    assert psql(database, "SELECT relkind FROM pg_class WHERE relname = 'events'") == "p", "events is partitioned again"
    # Objects the dump does not know about are left alone.
    assert psql(database, "SELECT to_regclass('scratch') IS NOT NULL") == "t"


def test_restore_rejects_a_file_that_is_not_a_dump(database, tmp_path):
    bogus = tmp_path / "not-a-dump.dump"
    bogus.write_text("SELECT 1;\n")
    result = run("restore.sh", "--yes", str(bogus), url=database)
    assert result.returncode != 0
    assert "not a pg_dump custom-format archive" in result.stderr


def test_backup_without_a_database_url_fails_clearly(tmp_path):
    result = subprocess.run(
        ["bash", str(DEPLOY / "backup.sh"), str(tmp_path)],
        env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True, check=False,
    )
    assert result.returncode != 0
    assert "SENTORI_DATABASE_URL" in result.stderr
    assert not list(tmp_path.iterdir())


def test_a_failed_restore_changes_nothing(database, tmp_path):
    backup = run("backup.sh", str(tmp_path), url=database)
    assert backup.returncode == 0, backup.stderr
    dump = Path(backup.stdout.strip())
    projects = psql(database, "SELECT count(*) FROM projects")
    psql(database, "DELETE FROM projects")
    # Something the dump does not know depends on a table it must drop and
    # recreate: the restore fails partway, after it has already dropped the
    # partitioned tables.
    psql(database, "CREATE VIEW recipient_emails AS SELECT email FROM recipients")

    result = run("restore.sh", "--yes", str(dump), url=database)
    assert result.returncode != 0, "the restore fails"
    assert "recipient_emails" in result.stderr, result.stderr
    assert psql(database, "SELECT count(*) FROM projects") == "0", "no row came back"
    assert psql(database, "SELECT relkind FROM pg_class WHERE relname = 'events'") == "p", "nothing was dropped"
    assert projects != "0"
