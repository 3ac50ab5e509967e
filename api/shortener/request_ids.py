"""Request ids: every log line written while a request is handled carries its id.

The id is nginx's X-Request-ID, which nginx also adds to the response. A request without
one (a direct call on the backend network, a healthcheck) gets a new id for its log
lines, echoed in the response; its headers stay as they came, so a click it makes has no
`rid`, as docs/clicks.md says. A received id is not echoed: behind nginx the client would
get it twice.
"""

import os
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shortener.logs import REQUEST_ID

REQUEST_ID_HEADER = b"x-request-id"
MAX_REQUEST_ID_LENGTH = 64  # nginx's are 32; a bound all the same


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            return value.decode("latin-1")[:MAX_REQUEST_ID_LENGTH]
    return ""


def new_request_id() -> str:
    return os.urandom(16).hex()  # 32 hex characters, like nginx's $request_id


class BindRequestIds:
    """Pure ASGI middleware, outermost: binds the request's id to the logs
    (logs.REQUEST_ID) for everything inside it, the metrics middleware included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        if request_id:
            token = REQUEST_ID.set(request_id)
            await self.app(scope, receive, send)
        else:
            request_id = new_request_id()
            token = REQUEST_ID.set(request_id)
            await self.app(scope, receive, _echoing(send, request_id.encode()))
        # Reset only after a normal return. After an exception the id stays set: the server
        # logs the traceback (and sends its 500) after the app has returned, in this
        # request's own task, and that line needs it most.
        REQUEST_ID.reset(token)


def _echoing(send: Send, request_id: bytes) -> Send:
    async def echo(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id)]
            message = {**message, "headers": headers}
        await send(message)

    return echo
