"""Is the database schema at the version this worker's SQL was written for?

The worker image does not ship the migrations (they belong to the api image, whose
`migrate` job applies them), so the version is written here; a unit test keeps it equal
to the newest file in api/migrations/. The healthcheck reports not ready until every
migration up to it is recorded in migrations.history, which the app role may read.
"""

import psycopg

from shortener_worker.backends import database
from shortener_worker.settings import WorkerSettings

# The newest migration in api/migrations/ (tests/unit/test_worker_schema.py checks it).
REQUIRED_SCHEMA_VERSION = 10


def missing_migrations(applied: set[int], required: int = REQUIRED_SCHEMA_VERSION) -> list[int]:
    return [version for version in range(1, required + 1) if version not in applied]


def schema_problem(settings: WorkerSettings) -> str | None:
    """None when every required migration is applied, else the reason."""
    try:
        # Inside the healthcheck's own timeout, with time left for the Redis checks.
        with database(settings, connect_timeout=2) as conn:
            rows = conn.execute("SELECT version FROM migrations.history").fetchall()
    except psycopg.errors.UndefinedTable:
        return "schema not migrated yet (no migrations.history)"
    except psycopg.Error as error:
        return f"database unreachable: {str(error).strip()}"
    missing = missing_migrations({version for (version,) in rows})
    if missing:
        listed = ", ".join(f"{version:04d}" for version in missing)
        return f"schema lacks migration {listed}"
    return None
