"""Least privilege, as init-db/10-roles.sh sets it up: the app role reads and writes rows
of the owner's tables, and can change nothing else."""

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors, sql

from shortener.migrate.files import Migration
from tests.integration.containers import APP, DATABASE, OWNER, SUPERUSER, Postgres

pytestmark = pytest.mark.integration


def test_app_role_reads_and_writes_links(app_db: psycopg.Connection) -> None:
    row = app_db.execute(
        "INSERT INTO links (code, url) VALUES ('roles01', 'https://e.org/a') RETURNING id"
    ).fetchone()
    assert row is not None
    assert app_db.execute("SELECT url FROM links WHERE id = %s", row).fetchone() == (
        "https://e.org/a",
    )
    updated = app_db.execute("UPDATE links SET url = 'https://e.org/b' WHERE id = %s", row)
    assert updated.rowcount == 1
    assert app_db.execute("DELETE FROM links WHERE id = %s", row).rowcount == 1


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE intruder (id int)",
        "CREATE TABLE public.intruder (id int)",
        "CREATE SCHEMA intruder",
        "DROP TABLE links",
        "TRUNCATE links",
        "ALTER TABLE links ADD COLUMN note text",
        "CREATE INDEX links_url_idx ON links (url)",
    ],
)
def test_app_role_cannot_change_the_schema(
    app_db: psycopg.Connection, owner_db: psycopg.Connection, statement: str
) -> None:
    owner_db.execute("INSERT INTO links (code, url) VALUES ('roles02', 'https://e.org/')")

    with pytest.raises(errors.InsufficientPrivilege):
        app_db.execute(statement)

    assert owner_db.execute("SELECT count(*) FROM links").fetchone() == (1,)


def test_service_roles_hold_no_cluster_powers(postgres: Postgres, schema: list[Migration]) -> None:
    with postgres.connect(SUPERUSER) as admin:
        powers = admin.execute(
            """
            SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls
            FROM pg_roles WHERE rolname = ANY(%s) ORDER BY rolname
            """,
            ([APP, OWNER],),
        ).fetchall()
    assert powers == [(name, False, False, False, False) for name in sorted([APP, OWNER])]


@pytest.fixture
def stranger(postgres: Postgres) -> Iterator[tuple[str, str]]:
    """A login role init-db knows nothing about, dropped after the test."""
    name, password = f"stranger_{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    with postgres.connect(SUPERUSER, "postgres") as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )
        try:
            yield name, password
        finally:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_only_the_service_roles_may_connect(postgres: Postgres, stranger: tuple[str, str]) -> None:
    name, password = stranger
    connect = {"host": postgres.host, "port": postgres.port, "user": name, "password": password}
    # init-db revoked PUBLIC's CONNECT on both databases.
    for database in (DATABASE, "postgres"):
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(dbname=database, **connect)
    # Control: with CONNECT granted, the same credentials get in, so the refusals above are
    # the REVOKE at work, not a bad password.
    with postgres.connect(SUPERUSER, "postgres") as admin:
        admin.execute(
            sql.SQL("GRANT CONNECT ON DATABASE postgres TO {}").format(sql.Identifier(name))
        )
    psycopg.connect(dbname="postgres", **connect).close()
    with postgres.connect(SUPERUSER, "postgres") as admin:
        admin.execute(
            sql.SQL("REVOKE CONNECT ON DATABASE postgres FROM {}").format(sql.Identifier(name))
        )


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO migrations.history (version, name, checksum) VALUES (999, 'x', 'x')",
        "UPDATE migrations.history SET checksum = 'forged'",
        "DELETE FROM migrations.history",
    ],
)
def test_app_role_reads_but_cannot_rewrite_migration_history(
    app_db: psycopg.Connection, schema: list[Migration], statement: str
) -> None:
    # Readiness reads the version as the app role...
    latest = app_db.execute("SELECT max(version) FROM migrations.history").fetchone()
    assert latest == (schema[-1].version,)
    # ...but only the owner (the migrate job) may change the record.
    with pytest.raises(errors.InsufficientPrivilege):
        app_db.execute(statement)
