"""Code -> redirect target, cache-aside: the process's own cache for a second
(local_cache.py), then Redis, then Postgres on a miss, both caches filled after; and the
visit counter of links with a visit limit. Everything the redirect asks of storage goes
through `LinkLookup`.

Unknown codes are cached too (briefly), so a scan of random codes does not reach Postgres.
When Redis fails the redirect still works from Postgres: the cache is an accelerator,
never a dependency of correctness. Writes drop the Redis entry and announce the change
(`forget`); every api replica drops its own copy on the announcement, so an edit or
delete is seen everywhere at once (within LOCAL_LINK_CACHE_SECONDS should one be missed).
"""

import logging
from datetime import UTC, datetime

from redis.exceptions import RedisError

from shortener.backends import Backends
from shortener.links import store
from shortener.links.local_cache import CHANGES_CHANNEL, LocalLinkCache
from shortener.links.metrics import (
    LINK_CACHE_ERROR,
    LINK_CACHE_HIT,
    LINK_CACHE_LOCAL,
    LINK_CACHE_MISS,
)
from shortener.links.target import CacheAnswer, NoTarget, Target
from shortener.problems import Problem
from shortener.settings import Settings

log = logging.getLogger(__name__)

# What Redis holds for a code no link has: an empty string is no Target's JSON.
NO_LINK_MARK = ""


def cache_key(code: str) -> str:
    return f"link:{code}"


def cache_seconds(answer: CacheAnswer, settings: Settings, now: datetime) -> int:
    """How long an answer may be kept: never past the link's expiry."""
    if not isinstance(answer, Target) or answer.expired(now):
        return settings.missing_link_cache_seconds
    if answer.expires_at is None:
        return settings.link_cache_seconds
    until_expiry = int((answer.expires_at - now).total_seconds())
    return max(1, min(settings.link_cache_seconds, until_expiry))


class LinkLookup:
    """The links a redirect follows, as the caches and Postgres know them."""

    def __init__(self, backends: Backends, settings: Settings) -> None:
        self.backends = backends
        self.settings = settings
        self.local = LocalLinkCache(settings.local_link_cache_seconds)

    async def cached(self, code: str) -> CacheAnswer:
        """The caches' answer for a valid code: this process's own (at most a second old),
        else Redis's, which this process then keeps."""
        local = self.local.get(code)
        if local is not NoTarget.NOT_CACHED:
            LINK_CACHE_LOCAL.inc()
            return local
        answer = await self._from_redis(code)
        if isinstance(answer, Target) or answer is NoTarget.NO_LINK:  # an answer worth keeping
            self.local.put(code, answer, cache_seconds(answer, self.settings, datetime.now(UTC)))
        return answer

    async def resolve(self, code: str, cached: CacheAnswer | None = None) -> CacheAnswer:
        """The link behind `code`, or NO_LINK: never "not cached". `cached`: what `cached`
        already said, so a lookup that asked the caches asks Postgres next, not them again.
        `code` is a valid code (codes.CODE_PATTERN): the callers check before asking."""
        answer = await self.cached(code) if cached is None else cached
        if isinstance(answer, Target) or answer is NoTarget.NO_LINK:
            return answer
        async with self.backends.database.connection() as conn:
            stored = await store.find_link(conn, code)
        found: CacheAnswer = Target.of(stored) if stored else NoTarget.NO_LINK
        seconds = cache_seconds(found, self.settings, datetime.now(UTC))
        # A Redis that just failed the read is not asked to store the answer: when it hangs,
        # the fill would make the redirect wait for a second timeout.
        if answer is not NoTarget.CACHE_DOWN:
            await self._remember(code, found, seconds)
        self.local.put(code, found, seconds)
        return found

    async def count_visit(self, target: Target) -> bool:
        """Count a person's visit of a limited link; False once its visits are used up."""
        async with self.backends.database.connection() as conn:
            return await store.count_limited_visit(conn, target.id)

    async def has_visits_left(self, target: Target) -> bool:
        """Whether a limited link has a visit left, counting none."""
        async with self.backends.database.connection() as conn:
            return await store.has_visits_left(conn, target.id)

    async def find_unlock(self, target: Target) -> store.Unlock | None:
        """A protected link's target and hash, from Postgres only (no cache holds them)."""
        async with self.backends.database.connection() as conn:
            return await store.find_unlock(conn, target.id)

    async def forget(self, codes: list[str], *, required: bool) -> None:
        """Drop the cached answers for `codes`: in Redis, and in every api process
        (announced on CHANGES_CHANNEL).

        `required`: before changing a link, failing to drop it would let the old answer be
        served after the change (once Redis is back), so the change is refused with a 503.
        After a change (and after a create, for a cached "no such link"), a failure is
        logged.
        """
        self.local.forget(codes)  # this process at once, before the announcement returns
        try:
            async with self.backends.cache.pipeline(transaction=False) as pipe:
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

    async def _from_redis(self, code: str) -> CacheAnswer:
        try:
            raw = await self.backends.cache.get(cache_key(code))
        except RedisError as error:
            LINK_CACHE_ERROR.inc()
            log.warning("cache read failed; using the database", extra={"error": str(error)})
            return NoTarget.CACHE_DOWN
        if raw is None:
            LINK_CACHE_MISS.inc()
            return NoTarget.NOT_CACHED
        LINK_CACHE_HIT.inc()
        return NoTarget.NO_LINK if raw == NO_LINK_MARK else Target.decode(raw)

    async def _remember(self, code: str, answer: CacheAnswer, seconds: int) -> None:
        if seconds <= 0:
            return
        raw = answer.encode() if isinstance(answer, Target) else NO_LINK_MARK
        try:
            await self.backends.cache.set(cache_key(code), raw, ex=seconds)
        except RedisError as error:
            log.warning("cache fill failed", extra={"error": str(error)})
