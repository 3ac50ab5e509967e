"""The schema version the worker waits for is the newest migration of the same commit."""

from shortener.migrate.files import DEFAULT_DIRECTORY, read_migrations
from shortener_worker.schema import REQUIRED_SCHEMA_VERSION, missing_migrations


def test_the_worker_requires_the_newest_migration() -> None:
    # A new migration fails this test until REQUIRED_SCHEMA_VERSION is raised with it, so
    # a worker never reports ready against a database that lacks what the code expects.
    assert read_migrations(DEFAULT_DIRECTORY)[-1].version == REQUIRED_SCHEMA_VERSION


def test_missing_migrations_names_each_gap() -> None:
    assert missing_migrations(set(), required=3) == [1, 2, 3]
    assert missing_migrations({1, 2}, required=3) == [3]
    assert missing_migrations({1, 3}, required=3) == [2]
    assert missing_migrations({1, 2, 3, 4}, required=3) == []  # newer schema: fine
