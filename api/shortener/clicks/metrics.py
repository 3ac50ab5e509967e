"""The clicks feature's metrics: what the api did with each click, and the stream's
length, read from Redis when Prometheus scrapes (app.py registers `refresh_stream_gauges`
with the /metrics route)."""

import asyncio
import logging

from prometheus_client import Counter, Gauge
from redis.asyncio import Redis
from redis.exceptions import RedisError

from shortener.clicks.event import DEAD_LETTER_STREAM, STREAM

log = logging.getLogger(__name__)

CLICKS_RECORDED = Counter(
    "shortener_clicks_recorded", "Redirects appended to the click stream for the worker."
)
CLICKS_LOST = Counter(
    "shortener_clicks_lost",
    "Redirects that were answered but not recorded: Redis could not be reached.",
)
CLICKS_UNCONFIRMED = Counter(
    "shortener_clicks_unconfirmed",
    "Redirects whose append reached Redis but got no answer (Redis went away or timed out):"
    " each is either in the stream, and counted once, or lost.",
)
# Read from Redis at scrape time: the same value from every replica (take max, not sum).
CLICK_BACKLOG = Gauge(
    "shortener_click_stream_entries",
    "Entries in the click stream: events not yet ingested (and pending) by the worker.",
)
CLICK_DEAD_LETTERS = Gauge(
    "shortener_click_dead_letters",
    "Click events the worker could not ingest, kept in the clicks:dead stream.",
)
# The api reports how far ingestion is behind, not only the worker: a stopped worker
# reports nothing, and the alert for a stalled ingestion must not depend on the party
# that stalled (monitoring/prometheus/rules/, docs/monitoring.md).
CLICK_OLDEST_AGE = Gauge(
    "shortener_click_stream_oldest_age_seconds",
    "Age of the oldest entry in the click stream, 0 when empty: how far ingestion is behind "
    "(the worker trims ingested entries after each run: about a second at rest).",
)


# A scrape waits this long for Redis at most: a Redis whose container is gone is a name
# lookup of about 20 s on an internal network, past Prometheus' timeout, and a failed
# scrape would say the api is down (docs/monitoring.md, "ApiDown").
SCRAPE_REDIS_WAIT_SECONDS = 2


async def refresh_stream_gauges(cache: Redis) -> None:
    try:
        async with (
            asyncio.timeout(SCRAPE_REDIS_WAIT_SECONDS),
            cache.pipeline(transaction=False) as pipe,
        ):
            # Redis' clock made the entry ids: the oldest entry's age is measured by it.
            pipe.xlen(STREAM).xlen(DEAD_LETTER_STREAM).time().xrange(STREAM, count=1)
            backlog, dead, now, oldest = await pipe.execute()
    except (RedisError, TimeoutError) as error:  # the counters are still worth serving
        log.warning("metrics: click stream lengths unavailable", extra={"error": repr(error)})
        return
    CLICK_BACKLOG.set(backlog)
    CLICK_DEAD_LETTERS.set(dead)
    CLICK_OLDEST_AGE.set(oldest_entry_age(now, oldest))


def oldest_entry_age(now: tuple[int, int], oldest: list[tuple[str, object]]) -> float:
    """Seconds between Redis' TIME reply and the id of XRANGE's first entry (0: none)."""
    if not oldest:
        return 0.0
    seconds, microseconds = now
    oldest_ms = int(oldest[0][0].partition("-")[0])
    return max(0.0, seconds + microseconds / 1e6 - oldest_ms / 1000)
