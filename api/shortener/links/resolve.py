"""Code -> redirect target, cache-aside: the process's own cache for a second
(local_cache.py), then Redis, then Postgres on a miss, both caches filled after.

Unknown codes are cached too (briefly), so a scan of random codes does not reach Postgres.
When Redis fails the redirect still works from Postgres: the cache is an accelerator,
never a dependency of correctness. Writes drop the Redis entry and announce the change
(`forget_link`); every api replica drops its own copy on the announcement, so an edit or
delete is seen everywhere at once (within LOCAL_LINK_CACHE_SECONDS should one be missed).
"""

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shortener.backends import Backends
from shortener.links.local_cache import CHANGES_CHANNEL
from shortener.links.store import StoredLink, find_link
from shortener.metrics import LINK_CACHE_ERROR, LINK_CACHE_HIT, LINK_CACHE_LOCAL, LINK_CACHE_MISS
from shortener.problems import Problem
from shortener.settings import Settings

log = logging.getLogger(__name__)

# Anything that could ever be a code (random codes and aliases); the rest is 404
# without touching a backend.
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MISSING = ""


class NoAnswer(Enum):
    """Why a cache gave no answer (None: it was asked and does not have the code)."""

    UNREACHABLE = "unreachable"  # the read failed: Redis is not asked to store either
    NOT_ASKED = "not asked"  # resolve_link's default: no cache was asked yet


UNREACHABLE = NoAnswer.UNREACHABLE
NOT_ASKED = NoAnswer.NOT_ASKED


@dataclass(frozen=True)
class Target:
    """What a redirect needs to know about a link."""

    id: int
    url: str
    expires_at: datetime | None
    redirect_type: int
    forward_query: bool
    # Has max_visits: every redirect is counted in Postgres, never answered from cache alone.
    limited: bool

    @classmethod
    def of(cls, link: StoredLink) -> "Target":
        return cls(
            link.id,
            link.url,
            link.expires_at,
            link.redirect_type,
            link.forward_query,
            link.max_visits is not None,
        )

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


# What the caches say of a code: its target, MISSING ("no such link"), nothing, or why not.
CacheAnswer = Target | str | NoAnswer | None


def cache_key(code: str) -> str:
    return f"link:{code}"


def encode(target: Target) -> str:
    return json.dumps(
        {
            "id": target.id,
            "url": target.url,
            "expires_at": target.expires_at.isoformat() if target.expires_at else None,
            "redirect_type": target.redirect_type,
            "forward_query": target.forward_query,
            "limited": target.limited,
        }
    )


def decode(raw: str) -> Target:
    data = json.loads(raw)
    expires = data["expires_at"]
    return Target(
        data["id"],
        data["url"],
        datetime.fromisoformat(expires) if expires else None,
        data["redirect_type"],
        data["forward_query"],
        data["limited"],
    )


def cache_seconds(target: Target | None, settings: Settings, now: datetime) -> int:
    """How long an answer may be served from Redis: never past the link's expiry."""
    if target is None or target.expired(now):
        return settings.missing_link_cache_seconds
    if target.expires_at is None:
        return settings.link_cache_seconds
    until_expiry = int((target.expires_at - now).total_seconds())
    return max(1, min(settings.link_cache_seconds, until_expiry))


async def _from_cache(cache: Redis, code: str) -> CacheAnswer:
    """The cached answer, MISSING for a cached 'no such link', None on a miss, or
    UNREACHABLE when Redis failed."""
    try:
        raw = await cache.get(cache_key(code))
    except RedisError as error:
        LINK_CACHE_ERROR.inc()
        log.warning("cache read failed; using the database", extra={"error": str(error)})
        return UNREACHABLE
    if raw is None:
        LINK_CACHE_MISS.inc()
        return None
    LINK_CACHE_HIT.inc()
    return MISSING if raw == MISSING else decode(raw)


async def _remember(cache: Redis, code: str, target: Target | None, seconds: int) -> None:
    if seconds <= 0:
        return
    try:
        await cache.set(cache_key(code), encode(target) if target else MISSING, ex=seconds)
    except RedisError as error:
        log.warning("cache fill failed", extra={"error": str(error)})


async def cached_answer(backends: Backends, settings: Settings, code: str) -> CacheAnswer:
    """The caches' answer for a valid code: this process's own (at most a second old), else
    Redis's, which this process then keeps. MISSING for a cached "no such link", None when
    neither cache has the code, UNREACHABLE when the Redis read failed."""
    local = backends.links.get(code)
    if local is not None:
        LINK_CACHE_LOCAL.inc()
        return local
    cached = await _from_cache(backends.cache, code)
    if isinstance(cached, Target) or cached == MISSING:
        target = cached if isinstance(cached, Target) else None
        backends.links.put(code, cached, cache_seconds(target, settings, datetime.now(UTC)))
    return cached


# The scope key under which redirects/fast.py leaves the caches' answer for a GET it did
# not answer itself, so that the route does not ask them again: on a miss it goes
# straight to Postgres, and a Redis that just failed is not asked to store the answer.
CACHE_ANSWER = "shortener.cache_answer"


async def resolve_link(
    backends: Backends,
    settings: Settings,
    code: str,
    cached: CacheAnswer = NOT_ASKED,
) -> Target | None:
    """The link behind `code`, or None. `cached`: what `cached_answer` already said."""
    if not CODE_PATTERN.fullmatch(code):
        return None
    if cached is NOT_ASKED:
        cached = await cached_answer(backends, settings, code)
    if isinstance(cached, Target):
        return cached
    if cached == MISSING:
        return None
    async with backends.database.connection() as conn:
        stored = await find_link(conn, code)
    target = Target.of(stored) if stored else None
    seconds = cache_seconds(target, settings, datetime.now(UTC))
    # A Redis that just failed the read is not asked to store the answer: when it hangs,
    # the fill would make the redirect wait for a second timeout.
    if cached is not UNREACHABLE:
        await _remember(backends.cache, code, target, seconds)
    backends.links.put(code, target or MISSING, seconds)
    return target


async def forget_link(backends: Backends, code: str, *, required: bool) -> None:
    """Drop the cached answers for `code`: in Redis, and in every api process (announced).

    `required`: before changing a link, failing to drop it would let the old answer be
    served after the change (once Redis is back), so the change is refused with a 503.
    After a change (and after a create, for a cached "missing"), a failure is logged.
    """
    await forget_links(backends, [code], required=required)


async def forget_links(backends: Backends, codes: list[str], *, required: bool) -> None:
    backends.links.forget(codes)  # this process at once, before the announcement returns
    try:
        async with backends.cache.pipeline(transaction=False) as pipe:
            pipe.delete(*(cache_key(code) for code in codes))
            pipe.publish(CHANGES_CHANNEL, " ".join(codes))
            await pipe.execute()
    except RedisError as error:
        if required:
            raise Problem(
                503,
                "cache-unavailable",
                "Links cannot be changed while the cache is unreachable; try again shortly.",
                headers={"Retry-After": "5"},
            ) from error
        log.warning("cache invalidation failed", extra={"codes": codes, "error": str(error)})
