"""GET /{code}: answer with the target, as fast as the cache allows.

The one route on the hot path, so the one route that skips FastAPI's per-request work: it
takes the Request and reads the app's state itself (`PlainRoute`). The code is the path's
only parameter and needs no validation beyond links.codes.CODE_PATTERN; no body, no
response model. Every other route keeps typed dependencies (docs/performance.md has the
numbers). What a request gets is decided in decide.py, for this route and fast.py alike.
"""

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from shortener.clicks.record import ClickRecorder
from shortener.links.codes import CODE_PATTERN
from shortener.links.lookup import LinkLookup
from shortener.links.manage import not_found
from shortener.links.target import CacheAnswer, Target
from shortener.problems import Problem
from shortener.redirects.decide import Verdict, Visitor, decide
from shortener.redirects.unlock import locked_out, offered_password, unlock
from shortener.settings import Settings

# The scope key under which fast.py leaves the caches' answer for a GET it did not answer
# itself, so that the route does not ask them again: on a miss it goes straight to
# Postgres, and a Redis that just failed is not asked to store the answer.
CACHE_ANSWER = "shortener.cache_answer"


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
    401: {"description": "Protected: the password is missing or wrong", **PROBLEM},
    404: {"description": "No such link", **PROBLEM},
    410: {"description": "Expired or visit limit reached", **PROBLEM},
    429: {"description": "Too many wrong passwords: wait Retry-After seconds", **PROBLEM},
    503: {"description": "Protected, and the cache is unreachable", **PROBLEM},
}
PASSWORD_PARAMETER = {
    "name": "Link-Password",
    "in": "header",
    "required": False,
    "description": "The password of a protected link.",
    "schema": {"type": "string", "maxLength": 128},
}
UNLOCK_BODY = {
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "properties": {"password": {"type": "string", "maxLength": 128}},
            }
        }
    }
}


CODE_PARAMETER = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^{CODE_PATTERN.pattern}$"},
}


# HEAD too: link checkers and chat unfurlers ask with HEAD before (or instead of) GET.
@router.head("/{code}", status_code=302, include_in_schema=False)
@router.get(
    "/{code}",
    status_code=302,
    summary="Follow a short link",
    response_class=RedirectResponse,
    responses=RESPONSES,
    openapi_extra={"parameters": [CODE_PARAMETER, PASSWORD_PARAMETER]},
)
# The unlock page's form posts the password to the short URL itself (no JavaScript); a
# browser follows the 303 to the target with a GET.
@router.post(
    "/{code}",
    status_code=303,
    summary="Unlock a password-protected link (the unlock page's form)",
    response_class=RedirectResponse,
    responses={
        303: {"description": "The password is right: go on to the target"},
        405: {"description": "The link is not protected", **PROBLEM},
        **{status: RESPONSES[status] for status in (401, 404, 410, 429, 503)},
    },
    openapi_extra={"parameters": [CODE_PARAMETER, PASSWORD_PARAMETER], "requestBody": UNLOCK_BODY},
)
async def follow_link(request: Request) -> RedirectResponse:
    code: str = request.path_params["code"]
    if not CODE_PATTERN.fullmatch(code):
        raise not_found(code)  # no backend is asked for what cannot be a code
    state = request.app.state
    links: LinkLookup = state.link_lookup
    clicks: ClickRecorder = state.click_recorder
    # What the caches said when fast.py asked them (a GET it could not answer).
    answer: CacheAnswer = request.scope.get(CACHE_ANSWER) or await links.cached(code)
    visitor = Visitor(
        request.method, request.headers, clicks.agents, await offered_password(request)
    )
    verdict = decide(answer, visitor, datetime.now(UTC))
    if verdict is Verdict.LOOK_UP:
        answer = await links.resolve(code, answer)
        verdict = decide(answer, visitor, datetime.now(UTC))
    unlocked = verdict is Verdict.UNLOCK
    if unlocked:
        assert isinstance(answer, Target)
        answer = await unlock(answer, visitor, request, links, state.unlock_attempts)
        verdict = decide(answer, visitor, datetime.now(UTC))
    match verdict:
        case Verdict.NOT_FOUND:
            raise not_found(code)
        case Verdict.EXPIRED:
            raise Problem(410, "link-expired", f"The link {code!r} has expired.")
        case Verdict.ASK_PASSWORD:
            raise locked_out(
                request,
                401,
                "password-required",
                "ask",
                f"The link {code!r} is protected: send its password in the Link-Password "
                "header, or open it in a browser.",
            )
        case _ if request.method == "POST" and not unlocked:
            raise Problem(
                405,
                "method-not-allowed",
                f"The link {code!r} is not protected: follow it with GET.",
                headers={"Allow": "GET, HEAD"},
            )
        case Verdict.COUNT_VISIT if not await links.count_visit(answer):
            # Counted in Postgres before answering: exact under any concurrency.
            raise exhausted(code)
        case Verdict.CHECK_VISITS if not await links.has_visits_left(answer):
            raise exhausted(code)
    assert isinstance(answer, Target)  # every verdict left is about a link
    reply = redirect_reply(answer, request, state.settings)
    if unlocked:
        # Never kept by a browser: the next person at this computer must unlock it too.
        reply.headers["Cache-Control"] = "private, no-store"
        if request.method == "POST":
            reply.status_code = 303  # the form's browser goes on with a GET
    # The click is appended to the stream after the reply is sent: never a wait.
    reply.background = clicks.after_reply(answer.id, request)
    return reply


def exhausted(code: str) -> Problem:
    return Problem(410, "link-exhausted", f"The link {code!r} has no visits left.")


def redirect_reply(target: Target, request: Request, settings: Settings) -> RedirectResponse:
    """The answer for a link that may be followed (also sent by fast.py)."""
    query = request.scope["query_string"]
    location = (
        with_forwarded_query(target.url, query.decode("latin-1"))
        if target.forward_query
        else target.url
    )
    headers = {"Cache-Control": cache_control(target, settings)}
    if not target.indexable:
        # Search engines leave short links out of their results unless the owner asks.
        headers["X-Robots-Tag"] = "noindex"
    return RedirectResponse(location, status_code=target.redirect_type, headers=headers)
