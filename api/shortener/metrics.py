"""Prometheus metrics: the middleware that counts and times every request, and GET
/metrics to read every counter of the process (the features keep their own: clicks/metrics.py,
links/metrics.py).

The counters live in prometheus_client's default registry, at module level: one api
process per container, so one set per replica, which Prometheus adds up. nginx answers
/metrics from outside with a 404: only the backend network scrapes it (`make metrics`).

Labels are bounded, so the number of series is too: a request is labelled with its route's
template (`/{code}`, `/api/links/{code}`), never its path, which a client chooses.
"""

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

# Gauges read from elsewhere when Prometheus scrapes: the app registers each feature's
# refresh here (app.state.before_scrape), so this module imports no feature.
BeforeScrape = Callable[[], Awaitable[None]]

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    refreshes: list[BeforeScrape] = request.app.state.before_scrape
    for refresh in refreshes:
        await refresh()
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


class ObserveRequests:
    """Pure ASGI middleware: each HTTP request is counted and timed by route template,
    method and status.

    Not Starlette's BaseHTTPMiddleware, which runs the app in a task of its own and passes
    the response through a memory stream: a cost on every request. This one only wraps
    `send` (about 3 us a request, measured in-process) and reads `scope["route"]`, which the
    router has set by the time the response starts.
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
        status = 500  # if nothing is sent, the server answers 500
        finished = False

        async def observed_send(message: Message) -> None:
            nonlocal status, finished
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
                self._observe(scope, status, time.perf_counter() - start)

        try:
            await self.app(scope, receive, observed_send)
        except BaseException:
            if not finished:
                self._observe(scope, 500, time.perf_counter() - start)
            raise
        if not finished:
            self._observe(scope, status, time.perf_counter() - start)

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
