"""Typed dependencies: route signatures say what they use, the app state provides it."""

from typing import Annotated

from fastapi import Depends, Request

from shortener.backends import Backends
from shortener.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_backends(request: Request) -> Backends:
    return request.app.state.backends


SettingsDep = Annotated[Settings, Depends(get_settings)]
BackendsDep = Annotated[Backends, Depends(get_backends)]
