from pathlib import Path

import pytest

from shortener.migrate.files import (
    DEFAULT_DIRECTORY,
    MigrationFileError,
    read_migrations,
)
from shortener.migrate.runner import MigrationConflict, verify_history


def write(directory: Path, **files: str) -> Path:
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


def test_project_migrations_are_well_formed() -> None:
    migrations = read_migrations(DEFAULT_DIRECTORY)
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "create_links"


def test_migrations_come_in_version_order(tmp_path: Path) -> None:
    write(tmp_path, **{"0002_b.sql": "SELECT 2;", "0001_a.sql": "SELECT 1;"})
    assert [m.name for m in read_migrations(tmp_path)] == ["a", "b"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"0001_a.sql": "", "0003_c.sql": ""}, "expected version 0002"),
        ({"0002_a.sql": ""}, "expected version 0001"),
        ({"0001_a.sql": "", "0001_b.sql": ""}, "expected version 0002"),
        ({"1_a.sql": ""}, "name must look like"),
        ({"0001_Create.sql": ""}, "name must look like"),
        ({"0001_a.txt": ""}, "name must look like"),
    ],
)
def test_malformed_sets_are_refused(tmp_path: Path, files: dict[str, str], message: str) -> None:
    write(tmp_path, **files)
    with pytest.raises(MigrationFileError, match=message):
        read_migrations(tmp_path)


def test_an_edited_applied_migration_is_a_conflict(tmp_path: Path) -> None:
    write(tmp_path, **{"0001_a.sql": "SELECT 1;"})
    migrations = read_migrations(tmp_path)
    verify_history(migrations, {1: migrations[0].checksum})
    with pytest.raises(MigrationConflict, match="changed after it was applied"):
        verify_history(migrations, {1: "0" * 64})


def test_a_database_ahead_of_the_code_is_a_conflict(tmp_path: Path) -> None:
    write(tmp_path, **{"0001_a.sql": "SELECT 1;"})
    migrations = read_migrations(tmp_path)
    with pytest.raises(MigrationConflict, match="does not know"):
        verify_history(migrations, {1: migrations[0].checksum, 2: "x"})
