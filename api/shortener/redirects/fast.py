"""The hot path's shortcut: a GET for a link either cache knows is answered here, before
FastAPI's routing, exception handling and request wrappers run.

Pure ASGI middleware, inside ObserveRequests (request id, metrics) and in front of the
app. It answers only when `decide` (decide.py) says FOLLOW for a GET of a path that is one
code and no other route's, from what the caches know (`LinkLookup.cached`: this process's
LocalLinkCache, then Redis). The reply is the route's own: the same `redirect_reply`, the
same click recording after it is sent. Every other verdict goes on to the app unchanged,
with the caches' answer left in the scope (CACHE_ANSWER) so the route does not ask Redis
twice. docs/performance.md has the profiles that made it worth having.
"""

from datetime import UTC, datetime

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from shortener.clicks.record import ClickRecorder
from shortener.links.codes import CODE_PATTERN
from shortener.links.lookup import LinkLookup
from shortener.links.models import RESERVED_ALIASES
from shortener.links.target import Target
from shortener.redirects.decide import Verdict, Visitor, decide
from shortener.redirects.routes import CACHE_ANSWER, redirect_reply
from shortener.settings import Settings


class CachedRedirects:
    def __init__(
        self,
        app: ASGIApp,
        *,
        links: LinkLookup,
        settings: Settings,
        clicks: ClickRecorder,
        route: BaseRoute,
    ) -> None:
        self.app = app
        self.links = links
        self.settings = settings
        self.clicks = clicks
        self.route = route  # GET /{code}: metrics label the answer with its template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = await self._answerable(scope)
        if target is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        request = Request(scope, receive)
        reply = redirect_reply(target, request, self.settings)
        reply.background = self.clicks.after_reply(target.id, request)
        await reply(scope, receive, send)

    async def _answerable(self, scope: Scope) -> Target | None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        code = scope["path"][1:]
        # /metrics is a code by its shape; no alias may take a path another route owns.
        if not CODE_PATTERN.fullmatch(code) or code.lower() in RESERVED_ALIASES:
            return None
        answer = await self.links.cached(code)
        visitor = Visitor("GET", Headers(scope=scope), self.clicks.agents)
        if isinstance(answer, Target) and decide(answer, visitor, datetime.now(UTC)) is (
            Verdict.FOLLOW
        ):
            return answer
        scope[CACHE_ANSWER] = answer  # for the route, which answers instead
        return None
