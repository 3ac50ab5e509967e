"""What the key API does: list an owner's keys, make one that grants no more than the
key making it, revoke one so that no replica accepts it any more."""

from datetime import datetime

from redis.exceptions import RedisError

from shortener.backends import Backends
from shortener.keys import store
from shortener.keys.cache import KeyCheck, mark_revoked
from shortener.keys.models import KeyCreate
from shortener.keys.store import ApiKey
from shortener.problems import Problem


def granted_expiry(maker: KeyCheck, requested: datetime | None) -> datetime | None:
    """The new key's expiry: the one requested, never after the maker's own (absent: the
    maker's). Raises a 403 problem for a later one."""
    if maker.expires_at is None:
        return requested
    if requested is None:
        return maker.expires_at
    if requested > maker.expires_at:
        raise Problem(
            403,
            "grant-exceeds-key",
            f"A key cannot outlive the key making it: expires_at must not be after "
            f"{maker.expires_at.isoformat()}.",
            field="expires_at",
        )
    return requested


def granted_scopes(maker: KeyCheck, requested: set[str]) -> frozenset[str]:
    """The requested scopes if the maker holds them all, else a 403 problem naming those
    it lacks."""
    beyond = sorted(requested - maker.scopes)
    if beyond:
        raise Problem(
            403,
            "grant-exceeds-key",
            f"A key cannot grant what it does not hold: this key lacks {', '.join(beyond)}.",
            field="scopes",
            missing_scopes=beyond,
        )
    return frozenset(requested)


async def list_keys(backends: Backends, maker: KeyCheck) -> list[ApiKey]:
    async with backends.database.connection() as conn:
        return await store.list_owned_keys(conn, maker.owner_id)


async def create_key(backends: Backends, maker: KeyCheck, body: KeyCreate) -> tuple[ApiKey, str]:
    scopes = granted_scopes(maker, {scope.value for scope in body.scopes})
    expires_at = granted_expiry(maker, body.expires_at)
    async with backends.database.connection() as conn:
        return await store.create_owned_key(
            conn, maker.owner_id, body.name, frozenset(scopes), expires_at
        )


async def revoke_key(backends: Backends, maker: KeyCheck, prefix: str) -> None:
    """The cache first (keys/cache.py says why), then the database."""
    async with backends.database.connection() as conn:
        stored = await store.find_owned_key(conn, maker.owner_id, prefix)
        if stored is None:
            raise Problem(404, "key-not-found", f"None of your keys has the prefix {prefix!r}.")
        try:
            await mark_revoked(backends.cache, stored.key_hash)
        except RedisError as error:
            raise Problem(
                503,
                "cache-unavailable",
                "Keys cannot be revoked while the cache is unreachable; try again shortly.",
                headers={"Retry-After": "5"},
            ) from error
        await store.revoke_owned_key(conn, maker.owner_id, prefix)
