"""The migration runner against a real Postgres, as the schema owner (the migrate job)."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from shortener.keys.scopes import ALL_SCOPES
from shortener.migrate.__main__ import main as migrate_main
from shortener.migrate.files import Migration
from shortener.migrate.runner import ADVISORY_LOCK_KEY, MigrationConflict, apply_migrations
from tests.integration.containers import DATABASE, OWNER, Postgres

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


def test_secrets_the_volume_was_not_made_with_are_named_as_the_cause(
    postgres: Postgres,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # What a user met: development's volume started with production's secrets. Postgres
    # only says the password failed; the job says why and what to do.
    wrong = tmp_path / "database_owner_password"
    wrong.write_text("not-the-password-the-volume-was-made-with\n")
    for name, value in {
        "DATABASE_HOST": postgres.host,
        "DATABASE_PORT": str(postgres.port),
        "DATABASE_NAME": DATABASE,
        "DATABASE_USER": OWNER,
        "DATABASE_PASSWORD_FILE": str(wrong),
    }.items():
        monkeypatch.setenv(name, value)
    assert migrate_main() == 1
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["message"] == "migration failed"
    assert "password authentication failed" in line["error"]
    assert "initialised with other secrets than the ones given now" in line["cause"]
    assert "SECRETS_DIR" in line["cause"]


def test_keys_made_before_scopes_keep_every_right(
    postgres: Postgres, scratch_database: str, schema: list[Migration]
) -> None:
    # Found by name: the number may change when branches meet.
    (scopes,) = [m for m in schema if m.name == "api_key_scopes"]
    with postgres.connect(OWNER, scratch_database) as conn:
        apply_migrations(conn, [m for m in schema if m.version < scopes.version])
        conn.execute(
            "INSERT INTO api_keys (name, prefix, key_hash) VALUES ('old', 'OldKey00', %s)",
            (b"\x01" * 32,),
        )
        apply_migrations(conn, schema)
        row = conn.execute(
            "SELECT scopes, expires_at, last_used_at, owner_id FROM api_keys"
        ).fetchone()
        assert row is not None
        assert (sorted(row[0]), row[1:]) == (sorted(ALL_SCOPES), (None, None, None))
        # A new key states its scopes: no default, and only known ones.
        for scopes_given in ("{}", "{links:read,links:delete}"):
            with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
                conn.execute(
                    "INSERT INTO api_keys (name, prefix, key_hash, scopes)"
                    " VALUES ('new', 'NewKey00', %s, %s)",
                    (b"\x02" * 32, scopes_given),
                )
        with pytest.raises(psycopg.errors.NotNullViolation), conn.transaction():
            conn.execute(
                "INSERT INTO api_keys (name, prefix, key_hash) VALUES ('new', 'NewKey00', %s)",
                (b"\x02" * 32,),
            )


def test_visitors_of_the_raw_clicks_kept_are_counted_by_the_migration(
    postgres: Postgres, scratch_database: str, schema: list[Migration]
) -> None:
    # Found by name: the number may change when branches meet.
    (visitors,) = [m for m in schema if m.name == "visitors_countries"]
    with postgres.connect(OWNER, scratch_database) as conn:
        apply_migrations(conn, [m for m in schema if m.version < visitors.version])
        conn.execute("INSERT INTO links (code, url) VALUES ('old', 'https://e.org/')")
        # What the worker wrote before: raw clicks (one person twice, another, a bot, an
        # event without a hash) and their rollups; and a day whose raw clicks are purged.
        conn.execute(
            "INSERT INTO clicks (stream_id, link_id, clicked_at, is_bot, visitor) VALUES"
            " ('1-0', 1, '2026-03-01 10:00Z', false, 'aaaaaaaaaaaaaaaa'),"
            " ('2-0', 1, '2026-03-01 11:00Z', false, 'aaaaaaaaaaaaaaaa'),"
            " ('3-0', 1, '2026-03-01 12:00Z', false, 'bbbbbbbbbbbbbbbb'),"
            " ('4-0', 1, '2026-03-01 13:00Z', true, 'cccccccccccccccc'),"
            " ('5-0', 1, '2026-03-02 09:00Z', false, '')"
        )
        conn.execute(
            "INSERT INTO click_days (link_id, day, clicks, bot_clicks) VALUES"
            " (1, '2025-10-01', 7, 0), (1, '2026-03-01', 4, 1), (1, '2026-03-02', 1, 0)"
        )
        conn.execute("INSERT INTO click_totals (link_id, clicks, bot_clicks) VALUES (1, 12, 1)")
        apply_migrations(conn, schema)
        days = conn.execute("SELECT day::text, visitors FROM click_days ORDER BY day").fetchall()
        total = conn.execute("SELECT visitors FROM click_totals").fetchone()
        country = conn.execute("SELECT DISTINCT country FROM clicks").fetchall()
    assert days == [("2025-10-01", 0), ("2026-03-01", 2), ("2026-03-02", 0)]
    assert total == (2,)
    assert country == [("",)]
