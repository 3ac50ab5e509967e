"""Prometheus metrics: the api's counters, the middleware that times every request (and
gives it its request id), and GET /metrics to read them.

The counters live in prometheus_client's default registry, at module level: one api
process per container, so one set per replica, which Prometheus adds up. nginx answers
/metrics from outside with a 404: only the backend network scrapes it (`make metrics`).

Labels are bounded, so the number of series is too: a request is labelled with its route's
template (`/{code}`, `/api/links/{code}`), never its path, which a client chooses.
"""

import logging
import os
import time
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shortener.clicks.event import MAX_REQUEST_ID_LENGTH
from shortener.dependencies import BackendsDep
from shortener.logs import REQUEST_ID

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

LINK_CACHE_LOOKUPS = Counter(
    "shortener_link_cache_lookups",
    "Redirect lookups, by result: local (answered from the process's own cache, Redis not "
    "asked), hit (Redis had a link or a cached 'no such link'), miss (Postgres asked, the "
    "answer cached), error (Redis failed; Postgres asked).",
    ["result"],
)
# Bound once: the redirect path only increments (links/resolve.py).
LINK_CACHE_LOCAL = LINK_CACHE_LOOKUPS.labels("local")
LINK_CACHE_HIT = LINK_CACHE_LOOKUPS.labels("hit")
LINK_CACHE_MISS = LINK_CACHE_LOOKUPS.labels("miss")
LINK_CACHE_ERROR = LINK_CACHE_LOOKUPS.labels("error")

HTTP_REQUESTS = Counter(
    "shortener_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
# No status label: it would multiply the buckets' series; the counter above has it.
HTTP_REQUEST_DURATION = Histogram(
    "shortener_http_request_duration_seconds",
    "Time from a request's arrival in the api to its last response byte, by route template "
    "and method (what runs after the reply, such as recording a click, is not included).",
    ["route", "method"],
    # A redirect from the cache takes about a millisecond; the default buckets start at 5.
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# A request no route matched (a 404 for /a/b, a slash redirect): one label, whatever its path.
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"  # any method is a token a client may invent: bounded here

REQUEST_ID_HEADER = b"x-request-id"

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


def route_template(scope: Scope) -> str:
    """The template of the route that handled the request, known once the router ran."""
    route = scope.get("route")  # FastAPI's routes, and the route of a 405, put it here
    if route is not None:
        return route.path
    # Starlette's own routes (the /api/docs pages) leave only their endpoint; rare enough
    # to look up among the app's routes.
    endpoint = scope.get("endpoint")
    if endpoint is not None and "app" in scope:
        for candidate in scope["app"].routes:
            if getattr(candidate, "endpoint", None) is endpoint:
                return candidate.path
    return UNMATCHED


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            return value.decode("latin-1")[:MAX_REQUEST_ID_LENGTH]
    return ""


def new_request_id() -> str:
    return os.urandom(16).hex()  # 32 hex characters, like nginx's $request_id


class ObserveRequests:
    """Pure ASGI middleware: each HTTP request gets its request id bound to the logs
    (logs.REQUEST_ID) and is counted and timed by route template, method and status.

    Not Starlette's BaseHTTPMiddleware, which runs the app in a task of its own and passes
    the response through a memory stream: a cost on every request. This one only wraps
    `send` (about 3 us a request, measured in-process) and reads `scope["route"]`, which the
    router has set by the time the response starts.

    The request id is nginx's X-Request-ID, which nginx also adds to the response. A request
    without one (a direct call on the backend network, a healthcheck) gets a new id for its
    log lines, echoed in the response; its headers stay as they came, so a click it makes
    has no `rid`, as docs/clicks.md says. A received id is not echoed: behind nginx the
    client would get it twice.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # (route, method, status) -> the label children: labels() costs more than an inc.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = request_id_from(scope["headers"])
        echo: bytes | None = None
        if not request_id:
            request_id = new_request_id()
            echo = request_id.encode()
        token = REQUEST_ID.set(request_id)
        status = 500  # if nothing is sent, the server answers 500
        finished = False

        async def observed_send(message: Message) -> None:
            nonlocal status, finished
            if message["type"] == "http.response.start":
                status = message["status"]
                if echo is not None:
                    headers = [*message.get("headers", ()), (REQUEST_ID_HEADER, echo)]
                    message = {**message, "headers": headers}
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
                self._observe(scope, status, time.perf_counter() - start)

        try:
            await self.app(scope, receive, observed_send)
        except BaseException:
            if not finished:
                self._observe(scope, 500, time.perf_counter() - start)
            # The id stays set: the server logs the traceback (and sends its 500) after the
            # app has returned, in this request's own task, and that line needs it most.
            raise
        if not finished:
            self._observe(scope, status, time.perf_counter() - start)
        REQUEST_ID.reset(token)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"]
        key = (route_template(scope), method if method in METHODS else OTHER_METHOD, status)
        children = self._children.get(key)
        if children is None:
            route, method, _ = key
            children = (
                HTTP_REQUESTS.labels(route, method, str(status)),
                HTTP_REQUEST_DURATION.labels(route, method),
            )
            self._children[key] = children
        count, duration = children
        count.inc()
        duration.observe(seconds)
