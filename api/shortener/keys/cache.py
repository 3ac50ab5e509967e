"""Key checks kept in Redis, so an API call does not ask Postgres who its key is.

An entry is named by the key's SHA-256 (`keys:check:<hex>`: neither the key nor anything
that opens it), holds what the check found (KeyCheck: owner, scopes, expiry; never the
hash) and lives CHECK_SECONDS. No process keeps a copy of its own: every replica reads the
one entry, so what a revoke writes there holds on every replica at the next request.

A revoke does not delete the entry: it writes REVOKED in its place, *before* the
database's UPDATE, and a check stores its answer only where no entry is (SET NX). So a
check that read the key from Postgres just before the revoke cannot put it back after:
its SET finds the REVOKED entry and does nothing. When Redis cannot take the REVOKED
entry, the revoke is refused (HTTP 503, the command line exits 1), since an entry cached
earlier would otherwise go on answering "valid" once Redis is back, for up to
CHECK_SECONDS (docs/security.md, "API keys").

Expiry is not the cache's business: keys/auth.py compares expires_at with the clock on
every request, cached or not.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CHECK_SECONDS = 60
REVOKED = "revoked"


def check_name(hashed: bytes) -> str:
    return f"keys:check:{hashed.hex()}"


@dataclass(frozen=True)
class KeyCheck:
    """Who a valid key is and what it may do."""

    key_id: int
    owner_id: int
    prefix: str
    name: str
    scopes: frozenset[str]
    expires_at: datetime | None
    last_used_at: datetime | None

    def to_json(self) -> str:
        return json.dumps(
            {
                "key_id": self.key_id,
                "owner_id": self.owner_id,
                "prefix": self.prefix,
                "name": self.name,
                "scopes": sorted(self.scopes),
                "expires_at": _text(self.expires_at),
                "last_used_at": _text(self.last_used_at),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> "KeyCheck":
        fields = json.loads(text)
        return cls(
            key_id=fields["key_id"],
            owner_id=fields["owner_id"],
            prefix=fields["prefix"],
            name=fields["name"],
            scopes=frozenset(fields["scopes"]),
            expires_at=_moment(fields["expires_at"]),
            last_used_at=_moment(fields["last_used_at"]),
        )


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class NoCheck(Enum):
    """What the cache says when it has no KeyCheck to give."""

    NOT_CACHED = "not cached"  # ask Postgres, then keep its answer
    REVOKED = "revoked"  # refuse, without asking Postgres
    CACHE_DOWN = "cache down"  # ask Postgres, keep nothing


async def cached_check(cache: Redis, hashed: bytes) -> KeyCheck | NoCheck:
    try:
        raw = await cache.get(check_name(hashed))
    except RedisError as error:
        log.warning("key cache read failed; using the database", extra={"error": str(error)})
        return NoCheck.CACHE_DOWN
    if raw is None:
        return NoCheck.NOT_CACHED
    if raw == REVOKED:
        return NoCheck.REVOKED
    return KeyCheck.from_json(raw)


async def keep_check(cache: Redis, hashed: bytes, check: KeyCheck) -> None:
    """Only where no entry is (NX): never over a revoke's REVOKED (module docstring)."""
    try:
        await cache.set(check_name(hashed), check.to_json(), ex=CHECK_SECONDS, nx=True)
    except RedisError as error:
        log.warning("key cache write failed", extra={"error": str(error)})


async def mark_revoked(cache: Redis, hashed: bytes) -> None:
    """Raises RedisError when Redis cannot take it: the caller must not revoke then."""
    await cache.set(check_name(hashed), REVOKED, ex=CHECK_SECONDS)


def mark_revoked_sync(cache: SyncRedis, hashed: bytes) -> None:
    """mark_revoked for the command line."""
    cache.set(check_name(hashed), REVOKED, ex=CHECK_SECONDS)
