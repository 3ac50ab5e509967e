"""The hot path's shortcut: a GET for a link either cache knows is answered here, before
FastAPI's routing, exception handling and request wrappers run.

Pure ASGI middleware, inside ObserveRequests (request id, metrics) and in front of the
app. It answers only when nothing can differ from the route's answer: a GET, a path that
is one code and no other route's, a link the caches know (`cached_answer`: this
process's LocalLinkCache, then Redis), not expired and without a visit limit (those are
counted in Postgres on every visit). The reply is the route's own: the same
`redirect_reply`, the same click recording after it is sent. Everything else goes on to
the app unchanged, with the caches' answer left in the scope (CACHE_ANSWER) so the route
does not ask Redis twice. docs/performance.md has the profiles that made it worth having.
"""

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from shortener.backends import Backends
from shortener.clicks.record import ClickRecorder
from shortener.links.models import RESERVED_ALIASES
from shortener.links.resolve import CACHE_ANSWER, CODE_PATTERN, Target, cached_answer
from shortener.redirects.routes import redirect_reply
from shortener.settings import Settings


class CachedRedirects:
    def __init__(
        self,
        app: ASGIApp,
        *,
        backends: Backends,
        settings: Settings,
        clicks: ClickRecorder,
        route: BaseRoute,
    ) -> None:
        self.app = app
        self.backends = backends
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
        answer = await cached_answer(self.backends, self.settings, code)
        scope[CACHE_ANSWER] = answer  # for the route, should it answer instead
        if not isinstance(answer, Target) or answer.limited:
            return None  # the route goes to Postgres, or counts the visit there
        if answer.expired(datetime.now(UTC)):
            return None  # the route answers 410
        return answer
