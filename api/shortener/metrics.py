"""Prometheus metrics: the api's counters, and GET /metrics to read them.

The counters live in prometheus_client's default registry, at module level: one api
process per container, so one set per replica, which Prometheus adds up. nginx answers
/metrics from outside with a 404: only the backend network scrapes it.
"""

import logging

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, generate_latest
from redis.exceptions import RedisError

from shortener.dependencies import BackendsDep

log = logging.getLogger(__name__)

CLICKS_RECORDED = Counter(
    "shortener_clicks_recorded", "Redirects appended to the click stream for the worker."
)
CLICKS_LOST = Counter(
    "shortener_clicks_lost", "Redirects that were answered but not recorded: Redis failed."
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

# The stream names of docs/clicks.md (the worker owns their processing).
CLICK_STREAM = "clicks:stream"
DEAD_LETTER_STREAM = "clicks:dead"

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(backends: BackendsDep) -> Response:
    try:
        async with backends.cache.pipeline(transaction=False) as pipe:
            backlog, dead = await pipe.xlen(CLICK_STREAM).xlen(DEAD_LETTER_STREAM).execute()
        CLICK_BACKLOG.set(backlog)
        CLICK_DEAD_LETTERS.set(dead)
    except RedisError as error:  # the counters are still worth serving
        log.warning("metrics: click stream lengths unavailable", extra={"error": str(error)})
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
