"""python -m shortener.migrate: the `migrate` service's command. Exits 0 when up to date."""

import logging
import sys

import psycopg

from shortener.backends import connect
from shortener.logs import configure_logging
from shortener.migrate.files import MigrationFileError, migrations_directory, read_migrations
from shortener.migrate.runner import MigrationConflict, apply_migrations
from shortener.settings import DatabaseSettings, load_settings

log = logging.getLogger("shortener.migrate")


def main() -> int:
    # Only the database settings: the job connects as the schema owner, not as the app.
    settings = load_settings(DatabaseSettings)
    configure_logging(settings.log_level)
    try:
        migrations = read_migrations(migrations_directory())
        with connect(settings, "shortener-migrate") as conn:
            applied = apply_migrations(conn, migrations)
    except (MigrationFileError, MigrationConflict, psycopg.Error) as error:
        log.error("migration failed", extra={"error": str(error).strip()})
        return 1
    latest = migrations[-1].version if migrations else 0
    log.info(
        "schema is up to date", extra={"applied": [m.version for m in applied], "version": latest}
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
