"""The `api_keys` table: every statement that touches it.

The command line (`python -m shortener.keys`) uses a plain connection, the API its pool:
each statement is written once, below, and run by a synchronous or an async function.
"""

import hmac
from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection, Connection
from psycopg.rows import class_row

from shortener.keys.scopes import ALL_SCOPES
from shortener.keys.secrets import key_hash, key_prefix, new_key

PREFIX_ATTEMPTS = 5


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    owner_id: int
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class StoredKey:
    """A key's record and its SHA-256, for the check and the revoke (never shown)."""

    key: ApiKey
    key_hash: bytes


# Every statement returns the columns of ApiKey. The owner is the key itself for a key
# from `make api-key`, else the key that made it (migration 0007).
INSERT = """
    INSERT INTO api_keys (name, prefix, key_hash, scopes, expires_at, owner_id)
    VALUES (%(name)s, %(prefix)s, %(hash)s, %(scopes)s, %(expires_at)s, %(owner)s)
    ON CONFLICT (prefix) DO NOTHING
    RETURNING id, name, prefix, coalesce(owner_id, id) AS owner_id, scopes, created_at, expires_at,
        revoked_at, last_used_at
"""
# By prefix; within one owner's keys when `owner` is given (the HTTP routes).
REVOKE = """
    UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
    WHERE prefix = %(prefix)s
        AND (%(owner)s::bigint IS NULL OR coalesce(owner_id, id) = %(owner)s)
    RETURNING id, name, prefix, coalesce(owner_id, id) AS owner_id, scopes, created_at, expires_at,
        revoked_at, last_used_at
"""
FIND_BY_PREFIX = """
    SELECT id, name, prefix, coalesce(owner_id, id) AS owner_id, scopes, created_at, expires_at,
        revoked_at, last_used_at, key_hash
    FROM api_keys
    WHERE prefix = %(prefix)s
        AND (%(owner)s::bigint IS NULL OR coalesce(owner_id, id) = %(owner)s)
"""
LIST = """
    SELECT id, name, prefix, coalesce(owner_id, id) AS owner_id, scopes, created_at, expires_at,
        revoked_at, last_used_at
    FROM api_keys
    WHERE %(owner)s::bigint IS NULL OR coalesce(owner_id, id) = %(owner)s
    ORDER BY id
"""
# At most about once a minute per key, however many requests it makes (keys/auth.py).
TOUCH = """
    UPDATE api_keys SET last_used_at = now()
    WHERE id = %s AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
"""


def _insert_parameters(
    name: str, scopes: frozenset[str], expires_at: datetime | None, owner_id: int | None
) -> dict:
    key = new_key()
    return {
        "key": key,
        "name": name,
        "prefix": key_prefix(key),
        "hash": key_hash(key),
        "scopes": sorted(str(scope) for scope in scopes),
        "expires_at": expires_at,
        "owner": owner_id,
    }


def _stored(row: tuple, description: list) -> StoredKey:
    values = dict(zip((column.name for column in description), row, strict=True))
    hashed = bytes(values.pop("key_hash"))
    return StoredKey(ApiKey(**values), hashed)


def create_key(
    conn: Connection,
    name: str,
    scopes: frozenset[str] = ALL_SCOPES,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key that owns its links; return its record and the key itself (shown
    once, never stored)."""
    with conn.cursor(row_factory=class_row(ApiKey)) as cur:
        for _ in range(PREFIX_ATTEMPTS):
            parameters = _insert_parameters(name, scopes, expires_at, None)
            cur.execute(INSERT, parameters)
            record = cur.fetchone()
            if record is not None:
                return record, parameters["key"]
    raise RuntimeError("could not find a free key prefix")


async def create_owned_key(
    conn: AsyncConnection,
    owner_id: int,
    name: str,
    scopes: frozenset[str],
    expires_at: datetime | None,
) -> tuple[ApiKey, str]:
    """A key acting on `owner_id`'s links (POST /api/keys)."""
    async with conn.cursor(row_factory=class_row(ApiKey)) as cur:
        for _ in range(PREFIX_ATTEMPTS):
            parameters = _insert_parameters(name, scopes, expires_at, owner_id)
            await cur.execute(INSERT, parameters)
            record = await cur.fetchone()
            if record is not None:
                return record, parameters["key"]
    raise RuntimeError("could not find a free key prefix")


def find_key(conn: Connection, prefix: str) -> StoredKey | None:
    with conn.cursor() as cur:
        cur.execute(FIND_BY_PREFIX, {"prefix": prefix, "owner": None})
        row = cur.fetchone()
        return None if row is None else _stored(row, cur.description)


async def find_owned_key(conn: AsyncConnection, owner_id: int, prefix: str) -> StoredKey | None:
    async with conn.cursor() as cur:
        await cur.execute(FIND_BY_PREFIX, {"prefix": prefix, "owner": owner_id})
        row = await cur.fetchone()
        return None if row is None else _stored(row, cur.description)


def revoke_key(conn: Connection, prefix: str) -> ApiKey | None:
    with conn.cursor(row_factory=class_row(ApiKey)) as cur:
        cur.execute(REVOKE, {"prefix": prefix, "owner": None})
        return cur.fetchone()


async def revoke_owned_key(conn: AsyncConnection, owner_id: int, prefix: str) -> ApiKey | None:
    async with conn.cursor(row_factory=class_row(ApiKey)) as cur:
        await cur.execute(REVOKE, {"prefix": prefix, "owner": owner_id})
        return await cur.fetchone()


def list_keys(conn: Connection) -> list[ApiKey]:
    with conn.cursor(row_factory=class_row(ApiKey)) as cur:
        cur.execute(LIST, {"owner": None})
        return cur.fetchall()


async def list_owned_keys(conn: AsyncConnection, owner_id: int) -> list[ApiKey]:
    async with conn.cursor(row_factory=class_row(ApiKey)) as cur:
        await cur.execute(LIST, {"owner": owner_id})
        return await cur.fetchall()


async def find_active_key(conn: AsyncConnection, presented: str) -> ApiKey | None:
    """The unrevoked key presented, or None (expiry is the caller's to judge: keys/auth.py
    checks it on every request, also against a cached answer). The hash is compared in
    constant time."""
    prefix = key_prefix(presented)
    if prefix is None:
        return None
    async with conn.cursor() as cur:
        await cur.execute(
            FIND_BY_PREFIX + "AND revoked_at IS NULL", {"prefix": prefix, "owner": None}
        )
        row = await cur.fetchone()
        if row is None:
            return None
        stored = _stored(row, cur.description)
    if not hmac.compare_digest(stored.key_hash, key_hash(presented)):
        return None
    return stored.key


async def touch_key(conn: AsyncConnection, key_id: int) -> None:
    await conn.execute(TOUCH, (key_id,))
