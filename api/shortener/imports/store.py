"""The `imports` and `import_rows` tables (api/migrations/*_imports.sql): an import's
counts and its valid rows waiting for the worker; and which of a file's rows are already
links."""

from dataclasses import dataclass

from psycopg import AsyncConnection
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from shortener.imports.rows import ImportRow


@dataclass(frozen=True)
class ImportCounts:
    rows: int
    rejected: int
    created: int
    existing: int
    skipped: int
    renamed: int


def import_ref(digest: str, row_number: int) -> str:
    """The mark a row's link carries (links.import_ref); the worker builds it the same way
    (worker/shortener_worker/imports.py; tests/unit/test_import_copies.py)."""
    return f"{digest}:{row_number}"


async def create_import(
    conn: AsyncConnection,
    job_id: int,
    digest: str,
    on_conflict: str,
    rows: int,
    rejected: int,
    valid: list[ImportRow],
) -> None:
    await conn.execute(
        "INSERT INTO imports (job_id, digest, on_conflict, rows, rejected) "
        "VALUES (%s, %s, %s, %s, %s)",
        (job_id, digest, on_conflict, rows, rejected),
    )
    async with (
        conn.cursor() as cur,
        cur.copy("COPY import_rows (job_id, seq, row_number, link) FROM STDIN") as copy,
    ):
        for seq, row in enumerate(valid, start=1):
            await copy.write_row((job_id, seq, row.row_number, Jsonb(row.link)))


async def find_counts(conn: AsyncConnection, job_id: int) -> ImportCounts | None:
    async with conn.cursor(row_factory=class_row(ImportCounts)) as cur:
        await cur.execute(
            "SELECT rows, rejected, created, existing, skipped, renamed FROM imports "
            "WHERE job_id = %s",
            (job_id,),
        )
        return await cur.fetchone()


async def imported_already(conn: AsyncConnection, owner_id: int, refs: list[str]) -> set[str]:
    """Which of these marks the owner's links carry: rows an import of the file made."""
    cursor = await conn.execute(
        "SELECT import_ref FROM links WHERE owner_id = %s AND import_ref = ANY(%s::text[])",
        (owner_id, refs),
    )
    return {ref for (ref,) in await cursor.fetchall()}


async def taken_aliases(conn: AsyncConnection, aliases: list[str]) -> set[str]:
    """Which of these codes any link (any owner's) has."""
    cursor = await conn.execute("SELECT code FROM links WHERE code = ANY(%s::text[])", (aliases,))
    return {code for (code,) in await cursor.fetchall()}
