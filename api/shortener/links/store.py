"""The `links` table: every SQL statement that touches it lives here."""

from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import class_row

from shortener.links.codes import new_code

CODE_ATTEMPTS = 5


@dataclass(frozen=True)
class StoredLink:
    id: int
    code: str
    url: str
    created_at: datetime
    expires_at: datetime | None


class CodeSpaceExhausted(Exception):
    """Every attempt collided: the code length is too short for the number of links."""


async def insert_link(
    conn: AsyncConnection, url: str, expires_at: datetime | None, code_length: int
) -> StoredLink:
    """Store a link under a fresh random code, retrying on the rare collision."""
    async with conn.cursor(row_factory=class_row(StoredLink)) as cur:
        for _ in range(CODE_ATTEMPTS):
            await cur.execute(
                """
                INSERT INTO links (code, url, expires_at) VALUES (%s, %s, %s)
                ON CONFLICT (code) DO NOTHING
                RETURNING id, code, url, created_at, expires_at
                """,
                (new_code(code_length), url, expires_at),
            )
            link = await cur.fetchone()
            if link is not None:
                return link
    raise CodeSpaceExhausted(f"no free code after {CODE_ATTEMPTS} attempts")


async def find_link(conn: AsyncConnection, code: str) -> StoredLink | None:
    async with conn.cursor(row_factory=class_row(StoredLink)) as cur:
        await cur.execute(
            "SELECT id, code, url, created_at, expires_at FROM links WHERE code = %s", (code,)
        )
        return await cur.fetchone()
