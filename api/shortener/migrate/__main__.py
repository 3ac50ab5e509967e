"""python -m shortener.migrate: the `migrate` service's command. Exits 0 when up to date."""

import logging
import sys

import psycopg
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shortener.logs import configure_logging
from shortener.migrate.files import MigrationFileError, migrations_directory, read_migrations
from shortener.migrate.runner import MigrationConflict, apply_migrations
from shortener.settings import SecretFromFile, load_settings

log = logging.getLogger("shortener.migrate")


class MigrationSettings(BaseSettings):
    """Only what the job needs: it connects as the schema owner, not as the app."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    database_host: str
    database_port: int = Field(5432, gt=0, lt=65536)
    database_name: str
    database_user: str
    database_password_file: SecretFromFile
    log_level: str = "INFO"


def main() -> int:
    settings = load_settings(MigrationSettings)
    configure_logging(settings.log_level)
    try:
        migrations = read_migrations(migrations_directory())
        with psycopg.connect(
            host=settings.database_host,
            port=settings.database_port,
            dbname=settings.database_name,
            user=settings.database_user,
            password=settings.database_password_file.get_secret_value(),
            application_name="shortener-migrate",
            autocommit=True,
            connect_timeout=10,
        ) as conn:
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
