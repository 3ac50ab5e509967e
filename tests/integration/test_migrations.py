"""The migration runner against a real Postgres, as the schema owner (the migrate job)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import psycopg
import pytest

from shortener.migrate.files import Migration
from shortener.migrate.runner import ADVISORY_LOCK_KEY, MigrationConflict, apply_migrations
from tests.integration.containers import OWNER, Postgres

pytestmark = pytest.mark.integration


def history(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "SELECT version, name, checksum, applied_at FROM migrations.history ORDER BY version"
    ).fetchall()


def test_applying_again_changes_nothing(
    schema: list[Migration], owner_db: psycopg.Connection
) -> None:
    before = history(owner_db)
    assert [row[0] for row in before] == [m.version for m in schema]

    assert apply_migrations(owner_db, schema) == []
    assert history(owner_db) == before


def test_racing_runners_apply_each_migration_once(
    postgres: Postgres, scratch_database: str, schema: list[Migration]
) -> None:
    # A last, slow migration holds the first runner inside its run for a while: without
    # the advisory lock the second would read the same history and apply it a second time.
    pause = Migration(len(schema) + 1, "pause", "SELECT pg_sleep(0.5)")
    migrations = [*schema, pause]
    start = threading.Barrier(2)

    def run() -> list[int]:
        with postgres.connect(OWNER, scratch_database) as conn:
            start.wait(timeout=10)
            return [m.version for m in apply_migrations(conn, migrations)]

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(run) for _ in range(2)]
        results = sorted((run.result(timeout=30) for run in runs), key=len)

    every_version = [m.version for m in migrations]
    assert results == [[], every_version]  # one applied everything, the other nothing
    with postgres.connect(OWNER, scratch_database) as conn:
        assert [row[0] for row in history(conn)] == every_version
        assert conn.execute("SELECT count(*) FROM links").fetchone() == (0,)


def test_an_edited_applied_migration_is_refused(
    schema: list[Migration], owner_db: psycopg.Connection, postgres: Postgres
) -> None:
    before = history(owner_db)
    edited = [replace(schema[0], sql=schema[0].sql + "\n-- edited after release\n"), *schema[1:]]

    with pytest.raises(MigrationConflict, match="changed after it was applied"):
        apply_migrations(owner_db, edited)

    assert history(owner_db) == before
    # The lock is released on the way out, or the next deploy's migrate job would hang.
    with postgres.connect(OWNER) as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,)).fetchone()
        other.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
