"""GET /{code}: answer with the target, as fast as the cache allows.

The one route on the hot path, so the one route that skips FastAPI's per-request work: it
takes the Request and reads the app's state itself (`PlainRoute`). The code is the path's
only parameter and needs no validation beyond resolve.CODE_PATTERN; no body, no response
model. Every other route keeps typed dependencies (docs/performance.md has the numbers).
"""

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from shortener.backends import Backends
from shortener.clicks.record import ClickRecorder
from shortener.links.resolve import CACHE_ANSWER, NOT_ASKED, Target, resolve_link
from shortener.links.store import count_limited_visit
from shortener.problems import Problem
from shortener.settings import Settings


class PlainRoute(APIRoute):
    """Documented in the OpenAPI schema like any route, called like a Starlette one: the
    endpoint gets the Request and nothing else; no dependencies are solved, no parameters
    validated, no response model applied. What is left is the request's own work."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint


router = APIRouter(tags=["redirects"], route_class=PlainRoute)

PERMANENT = {301, 308}


def with_forwarded_query(url: str, query: str) -> str:
    """The target with the short URL's query string appended (before any fragment)."""
    if not query:
        return url
    parts = urlsplit(url)
    joined = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit(parts._replace(query=joined))


def cache_control(target: Target, settings: Settings) -> str:
    # Browsers may reuse a redirect, privately and briefly: a shared cache must not keep
    # it, and a link with a visit limit must come back to us every time.
    if target.limited:
        return "private, no-store"
    if target.redirect_type in PERMANENT:
        return f"private, max-age={settings.permanent_redirect_max_age}"
    return f"private, max-age={settings.temporary_redirect_max_age}"


PROBLEM = {"content": {"application/problem+json": {}}}
REDIRECT_HEADERS = {
    "Location": {"description": "The target URL", "required": True, "schema": {"type": "string"}},
    "Cache-Control": {
        "description": "Private; `no-store` for links with a visit limit",
        "required": True,
        "schema": {"type": "string"},
    },
}
# The link's own `redirect_type` decides which of the four a client gets.
REDIRECT_KINDS = {301: "Permanent", 302: "Temporary", 307: "Temporary", 308: "Permanent"}
RESPONSES = {
    **{
        status: {"description": f"{kind} redirect to the target", "headers": REDIRECT_HEADERS}
        for status, kind in REDIRECT_KINDS.items()
    },
    404: {"description": "No such link", **PROBLEM},
    410: {"description": "Expired or visit limit reached", **PROBLEM},
}


CODE_PARAMETER = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
}


# HEAD too: link checkers and chat unfurlers ask with HEAD before (or instead of) GET.
@router.head("/{code}", status_code=302, include_in_schema=False)
@router.get(
    "/{code}",
    status_code=302,
    summary="Follow a short link",
    response_class=RedirectResponse,
    responses=RESPONSES,
    openapi_extra={"parameters": [CODE_PARAMETER]},
)
async def follow_link(request: Request) -> RedirectResponse:
    code: str = request.path_params["code"]
    state = request.app.state
    backends: Backends = state.backends
    settings: Settings = state.settings
    clicks: ClickRecorder = state.click_recorder
    # What the caches said when redirects/fast.py asked them (a GET it could not answer).
    cached = request.scope.get(CACHE_ANSWER, NOT_ASKED)
    target = await resolve_link(backends, settings, code, cached)
    if target is None:
        raise Problem(404, "link-not-found", f"No link has the code {code!r}.")
    if target.expired(datetime.now(UTC)):
        raise Problem(410, "link-expired", f"The link {code!r} has expired.")
    if target.limited:
        # Counted in Postgres before answering: exact under any concurrency.
        async with backends.database.connection() as conn:
            if not await count_limited_visit(conn, target.id):
                raise Problem(410, "link-exhausted", f"The link {code!r} has no visits left.")
    reply = redirect_reply(target, request, settings)
    # The click is appended to the stream after the reply is sent: never a wait.
    reply.background = clicks.after_reply(target.id, request)
    return reply


def redirect_reply(target: Target, request: Request, settings: Settings) -> RedirectResponse:
    """The answer for a link that may be followed (also sent by redirects/fast.py)."""
    query = request.scope["query_string"]
    location = (
        with_forwarded_query(target.url, query.decode("latin-1"))
        if target.forward_query
        else target.url
    )
    return RedirectResponse(
        location,
        status_code=target.redirect_type,
        headers={"Cache-Control": cache_control(target, settings)},
    )
