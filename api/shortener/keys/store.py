"""The `api_keys` table: every statement that touches it."""

import hmac
from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection, Connection
from psycopg.rows import class_row

from shortener.keys.secrets import key_hash, key_prefix, new_key

PREFIX_ATTEMPTS = 5


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


def create_key(conn: Connection, name: str) -> tuple[ApiKey, str]:
    """Store a new key; return its record and the key itself (shown once, never stored)."""
    with conn.cursor(row_factory=class_row(ApiKey)) as cur:
        for _ in range(PREFIX_ATTEMPTS):
            key = new_key()
            cur.execute(
                """
                INSERT INTO api_keys (name, prefix, key_hash) VALUES (%s, %s, %s)
                ON CONFLICT (prefix) DO NOTHING
                RETURNING id, name, prefix, created_at, revoked_at
                """,
                (name, key_prefix(key), key_hash(key)),
            )
            record = cur.fetchone()
            if record is not None:
                return record, key
    raise RuntimeError("could not find a free key prefix")


def revoke_key(conn: Connection, prefix: str) -> ApiKey | None:
    with conn.cursor(row_factory=class_row(ApiKey)) as cur:
        cur.execute(
            """
            UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE prefix = %s
            RETURNING id, name, prefix, created_at, revoked_at
            """,
            (prefix,),
        )
        return cur.fetchone()


def list_keys(conn: Connection) -> list[ApiKey]:
    with conn.cursor(row_factory=class_row(ApiKey)) as cur:
        cur.execute("SELECT id, name, prefix, created_at, revoked_at FROM api_keys ORDER BY id")
        return cur.fetchall()


async def find_active_key(conn: AsyncConnection, presented: str) -> int | None:
    """The owner id for a presented key, or None. The hash is compared in constant time."""
    prefix = key_prefix(presented)
    if prefix is None:
        return None
    cursor = await conn.execute(
        "SELECT id, key_hash FROM api_keys WHERE prefix = %s AND revoked_at IS NULL", (prefix,)
    )
    row = await cursor.fetchone()
    if row is None or not hmac.compare_digest(bytes(row[1]), key_hash(presented)):
        return None
    return row[0]
