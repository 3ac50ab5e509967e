"""Apply pending migrations, each in its own transaction, recorded in migrations.history.

Two runs may race (a `docker compose up` while another is running, or several replicas on
an orchestrator): a session-level advisory lock lets one apply and the other wait, then
find nothing left to do. An applied file whose content changed is an error, not a re-run.
"""

import logging

from psycopg import Connection

from shortener.migrate.files import Migration

log = logging.getLogger(__name__)

# Any constant both runs agree on; chosen so it is unlikely to clash with other users.
ADVISORY_LOCK_KEY = 0x5_4047_7E41

# The history lives in a schema of its own, where the app role may only read (init-db sets
# that up): the app checks the schema version at readiness but can never rewrite history.
# Created here when missing, for databases that init-db did not prepare.
CREATE_HISTORY_SCHEMA = """
DO $$ BEGIN
    IF to_regnamespace('migrations') IS NULL THEN CREATE SCHEMA migrations; END IF;
END $$
"""
CREATE_HISTORY = """
CREATE TABLE IF NOT EXISTS migrations.history (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationConflict(Exception):
    pass


def applied_checksums(conn: Connection) -> dict[int, str]:
    rows = conn.execute("SELECT version, checksum FROM migrations.history").fetchall()
    return {version: checksum for version, checksum in rows}


def verify_history(migrations: list[Migration], applied: dict[int, str]) -> None:
    known = {migration.version: migration for migration in migrations}
    for version, checksum in sorted(applied.items()):
        migration = known.get(version)
        if migration is None:
            raise MigrationConflict(
                f"the database has version {version:04d}, which this code does not know: "
                "is an older image running against a newer database?"
            )
        if migration.checksum != checksum:
            raise MigrationConflict(
                f"{version:04d}_{migration.name}.sql changed after it was applied; "
                "add a new migration instead of editing an applied one"
            )


def apply_migrations(conn: Connection, migrations: list[Migration]) -> list[Migration]:
    """Apply what is pending; return what was applied. `conn` must be in autocommit mode."""
    conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
    try:
        conn.execute(CREATE_HISTORY_SCHEMA)
        conn.execute(CREATE_HISTORY)
        applied = applied_checksums(conn)
        verify_history(migrations, applied)
        done = []
        for migration in migrations:
            if migration.version in applied:
                continue
            log.info(
                "applying migration",
                extra={"version": migration.version, "migration": migration.name},
            )
            with conn.transaction():
                conn.execute(migration.sql)
                conn.execute(
                    "INSERT INTO migrations.history (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            done.append(migration)
        return done
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
