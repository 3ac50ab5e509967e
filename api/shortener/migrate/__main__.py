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

# Postgres sets passwords once, when its volume is first initialised: secrets made later
# (production's beside development's volume, or made again) no longer match, and all
# Postgres says is that the password failed. Say why, and what to do.
WRONG_SECRETS_HINT = (
    "the database volume was initialised with other secrets than the ones given now"
    " (for example, development's volume started with production's secrets, or secret files"
    " made again after the first start). Start it with the secrets it was created with"
    " (SECRETS_DIR), or from an empty volume (make clean deletes every row)"
)


def explain(error: psycopg.Error) -> dict[str, str]:
    """The log fields for a failed migration: Postgres' words, and the cause when known."""
    text = str(error).strip()
    fields = {"error": text}
    if "password authentication failed" in text:
        fields["cause"] = WRONG_SECRETS_HINT
    return fields


def main() -> int:
    # Only the database settings: the job connects as the schema owner, not as the app.
    settings = load_settings(DatabaseSettings)
    configure_logging(settings.log_level)
    try:
        migrations = read_migrations(migrations_directory())
        with connect(settings, "shortener-migrate") as conn:
            applied = apply_migrations(conn, migrations)
    except (MigrationFileError, MigrationConflict) as error:
        log.error("migration failed", extra={"error": str(error).strip()})
        return 1
    except psycopg.Error as error:
        log.error("migration failed", extra=explain(error))
        return 1
    latest = migrations[-1].version if migrations else 0
    log.info(
        "schema is up to date", extra={"applied": [m.version for m in applied], "version": latest}
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
