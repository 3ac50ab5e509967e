"""Migration files: `NNNN_description.sql`, applied in number order, never edited once applied."""

import hashlib
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FILENAME = re.compile(r"(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql")
# api/shortener/migrate/files.py -> api/migrations (the same layout inside the image: /app).
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "migrations"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationFileError(Exception):
    pass


def migrations_directory() -> Path:
    return Path(os.environ.get("MIGRATIONS_DIR", DEFAULT_DIRECTORY))


def read_migrations(directory: Path) -> list[Migration]:
    """All migrations in version order; refuses stray files, gaps and duplicate numbers."""
    migrations = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        match = FILENAME.fullmatch(path.name)
        if match is None:
            raise MigrationFileError(f"{path.name}: name must look like 0001_create_links.sql")
        migrations.append(
            Migration(int(match["version"]), match["name"], path.read_text(encoding="utf-8"))
        )
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise MigrationFileError(
                f"expected version {expected:04d} next, found {migration.version:04d}_"
                f"{migration.name}.sql (versions start at 0001, without gaps or repeats)"
            )
    return migrations


@cache
def latest_version() -> int:
    """The schema version this code expects (readiness compares it with the database)."""
    migrations = read_migrations(migrations_directory())
    return migrations[-1].version if migrations else 0


def missing_migrations(applied: set[int]) -> list[int]:
    """The versions this code ships that the database has not applied (readiness)."""
    return [version for version in range(1, latest_version() + 1) if version not in applied]
