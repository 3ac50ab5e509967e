"""The redirect answers this process gave last, kept for a second: a popular link is
answered without asking Redis (docs/performance.md).

Bounded in time and in size. Time: an answer is kept `LOCAL_LINK_CACHE_SECONDS` (1 s by
default), never longer than Redis may keep it. Every change to a link is announced on the
Redis channel `links:changed` (`forget_link`, the worker's purge job); each api process
listens (`follow_link_changes`) and drops the code at once. Should an announcement be
missed (the subscription broke), or a lookup that read the old answer just before the
change store it just after, the lifetime is the bound: an edit or a delete reaches every
replica within LOCAL_LINK_CACHE_SECONDS at worst. Size: the oldest entries go first.

Nothing here needs a lock: one event loop per process, and no method awaits.
"""

import asyncio
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shortener.links.target import CacheAnswer, NoTarget

log = logging.getLogger(__name__)

# The channel's name is shared with the worker (shortener_worker/links.py), like the keys.
CHANGES_CHANNEL = "links:changed"
CAPACITY = 20_000  # a few MB: far more codes than are popular within one second
RESUBSCRIBE_SECONDS = 1.0


class LocalLinkCache:
    def __init__(self, seconds: float, capacity: int = CAPACITY) -> None:
        self.seconds = seconds
        self.capacity = capacity
        self._entries: dict[str, tuple[CacheAnswer, float]] = {}

    def get(self, code: str) -> CacheAnswer:
        """A Target, NO_LINK, or NOT_CACHED when this process has no fresh answer."""
        entry = self._entries.get(code)
        if entry is None:
            return NoTarget.NOT_CACHED
        answer, until = entry
        if until <= time.monotonic():
            self._entries.pop(code, None)
            return NoTarget.NOT_CACHED
        return answer

    def put(self, code: str, answer: CacheAnswer, seconds: float) -> None:
        """Keep a Target or NO_LINK (the answers a lookup found), never a cache's failure."""
        seconds = min(seconds, self.seconds)
        if seconds <= 0:
            return
        if code not in self._entries and len(self._entries) >= self.capacity:
            del self._entries[next(iter(self._entries))]  # the oldest: dicts keep order
        self._entries[code] = (answer, time.monotonic() + seconds)

    def forget(self, codes: list[str]) -> None:
        for code in codes:
            self._entries.pop(code, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


async def follow_link_changes(cache: Redis, local: LocalLinkCache, stop: asyncio.Event) -> None:
    """Drop each code announced on CHANGES_CHANNEL, until `stop` is set (app lifespan).

    A message carries one or more codes separated by spaces (a code has none). After any
    break the whole cache is dropped: announcements made meanwhile are lost.

    Why an event and not only a cancel: a cancel that lands while redis-py's timed read
    is timing out can be swallowed (seen: an app shut down right after it started waited
    forever). The loop checks `stop` at least once a second.
    """
    failing = False
    while not stop.is_set():
        try:
            async with cache.pubsub(ignore_subscribe_messages=True) as subscription:
                await subscription.subscribe(CHANGES_CHANNEL)
                local.clear()
                if failing:
                    log.info("link changes: subscribed again")
                    failing = False
                while not stop.is_set():
                    # A timeout, not a blocking read: the client's socket timeout (0.25 s)
                    # would otherwise end every quiet second with an error.
                    message = await subscription.get_message(
                        ignore_subscribe_messages=True, timeout=1.0
                    )
                    if message is not None:
                        local.forget(message["data"].split())
        except (RedisError, OSError) as error:
            local.clear()
            if not failing:  # once per outage, not once a second
                log.warning("link changes: subscription lost", extra={"error": str(error)})
                failing = True
            await asyncio.sleep(RESUBSCRIBE_SECONDS)
