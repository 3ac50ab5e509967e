"""The hot path's shortcut: a GET for a link this process answered within the last second
is answered here, before FastAPI's routing, exception handling and request wrappers run.

Pure ASGI middleware, inside ObserveRequests (request id, metrics) and in front of the
app. It answers only when nothing can differ from the route's answer: a GET, a path that
is one code, a link found in this process's LocalLinkCache (so `resolve_link` resolved it
moments ago, through the route), not expired and without a visit limit (those are counted
in Postgres on every visit). The reply is the route's own: the same `redirect_reply`, the
same click recording after it is sent. Everything else goes on to the app unchanged.
docs/performance.md has the profile that made it worth having.
"""

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from shortener.clicks.record import ClickRecorder
from shortener.links.local_cache import LocalLinkCache
from shortener.links.resolve import CODE_PATTERN, Target
from shortener.metrics import LINK_CACHE_LOCAL
from shortener.redirects.routes import redirect_reply
from shortener.settings import Settings


class CachedRedirects:
    def __init__(
        self,
        app: ASGIApp,
        *,
        links: LocalLinkCache,
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
        target = self._answerable(scope)
        if target is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        request = Request(scope, receive)
        reply = redirect_reply(target, request, self.settings)
        reply.background = self.clicks.after_reply(target.id, request)
        await reply(scope, receive, send)

    def _answerable(self, scope: Scope) -> Target | None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        code = scope["path"][1:]
        if not CODE_PATTERN.fullmatch(code):
            return None
        # Only resolve_link fills this cache, and only the redirect route calls it, so a
        # code here is never a path another route owns (/metrics is matched first).
        answer = self.links.get(code)
        if not isinstance(answer, Target) or answer.limited:
            return None  # not cached, a cached "no such link" (404), or counted per visit
        if answer.expired(datetime.now(UTC)):
            return None  # the route answers 410
        LINK_CACHE_LOCAL.inc()
        return answer
