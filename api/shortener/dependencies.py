"""Typed dependencies: route signatures say what they use, the app state provides it.

`async def`, though none of them awaits: FastAPI runs a plain `def` dependency in its
thread pool, a thread hand-off per dependency per request (a quarter of the redirect's CPU
time before this was changed; docs/performance.md)."""

from typing import Annotated

from fastapi import Depends, Request

from shortener.backends import Backends
from shortener.problems import Problem
from shortener.settings import Settings


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_backends(request: Request) -> Backends:
    return request.app.state.backends


async def require_json(request: Request) -> None:
    """Bodies are JSON: anything else is a 415 rather than a confusing validation error."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise Problem(415, "unsupported-media-type", "Send the request body as application/json.")


SettingsDep = Annotated[Settings, Depends(get_settings)]
BackendsDep = Annotated[Backends, Depends(get_backends)]
