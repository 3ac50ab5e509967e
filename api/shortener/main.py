"""Process entry points: `python -m shortener` serves the API with uvicorn."""

import os

import uvicorn
from fastapi import FastAPI

from shortener.app import create_app
from shortener.logs import configure_logging, logging_config
from shortener.settings import load_settings


def app_from_environment() -> FastAPI:
    """The factory uvicorn calls (also on every reload in development)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.access_log)
    return create_app(settings)


def serve() -> None:
    settings = load_settings()  # fail fast, before uvicorn starts, naming the bad variable
    uvicorn.run(
        "shortener.main:app_from_environment",
        factory=True,
        host="0.0.0.0",  # noqa: S104 (inside the container; only the proxy can reach it)
        port=settings.http_port,
        log_config=logging_config(settings.log_level, settings.access_log),
        # Only nginx reaches the API (frontend network), so its X-Forwarded-* are trusted.
        proxy_headers=True,
        forwarded_allow_ips="*",
        # Longer than nginx's upstream keepalive, so nginx closes idle connections first.
        timeout_keep_alive=75,
        reload=os.environ.get("UVICORN_RELOAD") == "1",
        server_header=False,
        access_log=settings.access_log,
    )
