"""The application factory: create_app(settings) wires features to backends.

Nothing here reads the environment: tests build an app from any Settings they like.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg import OperationalError
from psycopg.errors import ReadOnlySqlTransaction
from psycopg_pool import PoolTimeout

from shortener.apidocs.routes import router as apidocs_router
from shortener.backends import Backends
from shortener.clicks.agents import agent_parser
from shortener.clicks.countries import CountryLookup
from shortener.clicks.metrics import refresh_stream_gauges
from shortener.clicks.record import ClickRecorder
from shortener.exports.routes import router as exports_router
from shortener.health.routes import router as health_router
from shortener.imports.routes import router as imports_router
from shortener.jobs.routes import router as jobs_router
from shortener.keys.routes import router as keys_router
from shortener.links.local_cache import follow_link_changes
from shortener.links.lookup import LinkLookup
from shortener.links.routes import router as links_router
from shortener.links.store import CodeSpaceExhausted
from shortener.links.targets import TargetPolicy
from shortener.metrics import ObserveRequests
from shortener.metrics import router as metrics_router
from shortener.problems import install_problem_handlers, problem_response
from shortener.qr.routes import router as qr_router
from shortener.redirects.fast import CachedRedirects
from shortener.redirects.routes import router as redirects_router
from shortener.redirects.unlock import UnlockAttempts
from shortener.request_ids import BindRequestIds
from shortener.settings import ConfigurationError, Settings
from shortener.stats.routes import router as stats_router
from shortener.tags.routes import router as tags_router
from shortener.webhooks.routes import router as webhooks_router

log = logging.getLogger(__name__)


async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable", extra={"error": str(exc)})
    return problem_response(
        503,
        "database-unavailable",
        "The database cannot be reached right now; try again shortly.",
        headers={"Retry-After": "5"},
    )


async def _code_space_exhausted(_: Request, exc: Exception) -> JSONResponse:
    # Every random code collided: the configured CODE_LENGTH is too short for the number
    # of links stored. An operator must act; the client may retry.
    log.error("no free short code", extra={"error": str(exc)})
    return problem_response(
        503,
        "code-space-exhausted",
        "No free short code could be found; try again, and tell the operator.",
    )


def load_target_policy(settings: Settings) -> TargetPolicy:
    """Read once at startup: a bad host or blocklist file fails here, naming the setting."""
    try:
        TargetPolicy(own_hosts=frozenset(settings.public_hosts))
    except ValueError as error:
        raise ConfigurationError(
            f"invalid configuration:\n  PUBLIC_BASE_URL or EXTRA_PUBLIC_HOSTS: {error}"
        ) from None
    try:
        return TargetPolicy.from_files(settings.public_hosts, settings.blocked_hosts_file)
    except ValueError as error:
        raise ConfigurationError(f"invalid configuration:\n  BLOCKED_HOSTS_FILE: {error}") from None


def create_app(settings: Settings, backends: Backends | None = None) -> FastAPI:
    backends = backends or Backends.from_settings(settings)
    target_policy = load_target_policy(settings)
    countries = CountryLookup(settings.geoip_database_file, settings.country_header)
    click_recorder = ClickRecorder(backends.clicks, agent_parser(), countries)
    link_lookup = LinkLookup(backends, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await backends.open()
        # Every api process drops its cached answer for a link that changed anywhere.
        stop_following = asyncio.Event()
        link_changes = asyncio.create_task(
            follow_link_changes(backends.cache, link_lookup.local, stop_following)
        )
        try:
            yield
        finally:
            stop_following.set()
            link_changes.cancel()  # usually ends it at once; else `stop` does within 1 s
            await asyncio.wait({link_changes}, timeout=2)
            await click_recorder.close()
            countries.close()
            await backends.close()

    app = FastAPI(
        title="URL shortener",
        version="0.2.0",
        description=(
            "Shorten URLs and follow short links. API endpoints need an API key "
            "(`Authorization: Bearer <key>`; create one with `make api-key NAME=...`) "
            "holding the scope each endpoint names under its security requirement. "
            "Errors are RFC 9457 problem+json."
        ),
        # /api/docs is ours (apidocs/): Swagger UI from this origin, no CDN. No ReDoc.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.backends = backends
    app.state.target_policy = target_policy
    app.state.click_recorder = click_recorder
    app.state.link_lookup = link_lookup
    app.state.unlock_attempts = UnlockAttempts(backends.cache)
    app.state.before_scrape = [lambda: refresh_stream_gauges(backends.cache)]
    install_problem_handlers(app)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(PoolTimeout, _database_unavailable)
    # A server in recovery (a restore's replay, a standby) reads but takes no write yet.
    app.add_exception_handler(ReadOnlySqlTransaction, _database_unavailable)
    app.add_exception_handler(CodeSpaceExhausted, _code_space_exhausted)
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(exports_router)  # before links: /api/links/export is no {code}
    app.include_router(links_router)
    app.include_router(imports_router)
    app.include_router(stats_router)
    app.include_router(tags_router)
    app.include_router(jobs_router)
    app.include_router(qr_router)
    app.include_router(webhooks_router)
    app.include_router(keys_router)
    app.include_router(apidocs_router)
    # Last: /{code} matches any single path segment the routes above did not claim.
    app.include_router(redirects_router)
    # A GET for a link the caches know skips the routing.
    app.add_middleware(
        CachedRedirects,
        links=link_lookup,
        settings=settings,
        clicks=click_recorder,
        route=next(r for r in redirects_router.routes if "GET" in r.methods),  # type: ignore[attr-defined]
    )
    # Added after the others, so outside them (inside Starlette's ServerErrorMiddleware):
    # every response, the shortcut's and problem documents included, is counted; an
    # unhandled error counts as a 500.
    app.add_middleware(ObserveRequests)
    # Outermost: every log line of the request, the middlewares' own included, has its id.
    app.add_middleware(BindRequestIds)
    return app
