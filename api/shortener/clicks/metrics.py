"""The clicks feature's metrics: what the api did with each click, and the stream's
length, read from Redis when Prometheus scrapes (app.py registers `refresh_stream_gauges`
with the /metrics route)."""

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


async def refresh_stream_gauges(cache: Redis) -> None:
    try:
        async with cache.pipeline(transaction=False) as pipe:
            backlog, dead = await pipe.xlen(STREAM).xlen(DEAD_LETTER_STREAM).execute()
    except RedisError as error:  # the counters are still worth serving
        log.warning("metrics: click stream lengths unavailable", extra={"error": str(error)})
        return
    CLICK_BACKLOG.set(backlog)
    CLICK_DEAD_LETTERS.set(dead)
