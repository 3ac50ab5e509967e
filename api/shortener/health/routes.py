"""/health/live and /health/ready, as application/health+json.

Live says the process answers. Ready says it can do its job: Postgres answers and has the
schema this code expects (fail), and Redis answers (warn: redirects still work without it);
clicks get a country (warn: no database configured, or its file is unusable).
"""

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from shortener.backends import Backends
from shortener.clicks.record import ClickRecorderDep
from shortener.dependencies import BackendsDep, SettingsDep
from shortener.migrate.files import missing_migrations
from shortener.settings import Settings

router = APIRouter(prefix="/health", tags=["health"])
log = logging.getLogger(__name__)

HEALTH_MEDIA_TYPE = "application/health+json"


def health_response(status: str, checks: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"status": status}
    if checks is not None:
        body["checks"] = checks
    code = 503 if status == "fail" else 200
    return HealthResponse(body, status_code=code)


async def check_database(backends: Backends, settings: Settings) -> dict[str, Any]:
    try:
        async with backends.database.connection(timeout=settings.database_timeout_seconds) as conn:
            cursor = await conn.execute("SELECT version FROM migrations.history")
            applied = {version for (version,) in await cursor.fetchall()}
    except Exception as error:  # any failure here means "not ready", and says why
        log.warning("readiness: database check failed", extra={"error": str(error)})
        return {"status": "fail", "output": type(error).__name__}
    # Not ready until every migration this image ships is applied: an orchestrator that
    # ignores start order (Swarm) keeps the replica out of rotation until the job has run.
    # A newer schema is fine: migrations only add, so the old code keeps working during a
    # rolling update (docs/swarm.md).
    missing = missing_migrations(applied)
    if missing:
        listed = ", ".join(f"{version:04d}" for version in missing)
        return {"status": "fail", "output": f"schema lacks migration {listed}"}
    return {"status": "pass", "schema_version": max(applied, default=0)}


async def check_cache(backends: Backends) -> dict[str, Any]:
    try:
        await backends.cache.ping()
    except RedisError as error:
        log.warning("readiness: cache check failed", extra={"error": str(error)})
        return {"status": "warn", "output": type(error).__name__}
    return {"status": "pass"}


class HealthResponse(JSONResponse):
    # Also each route's response_class, so that OpenAPI documents this media type.
    media_type = HEALTH_MEDIA_TYPE


@router.get("/live", summary="The process is up", response_class=HealthResponse)
async def live() -> JSONResponse:
    return health_response("pass")


@router.get(
    "/ready",
    summary="Postgres and Redis answer; the schema is current; clicks get a country",
    response_class=HealthResponse,
    responses={
        503: {
            "description": "Not ready: `checks` says which dependency failed",
            "content": {HEALTH_MEDIA_TYPE: {}},
        }
    },
)
async def ready(
    backends: BackendsDep, settings: SettingsDep, clicks: ClickRecorderDep
) -> JSONResponse:
    checks = {
        "database": await check_database(backends, settings),
        "cache": await check_cache(backends),
        "countries": clicks.countries.health(),
    }
    statuses = {check["status"] for check in checks.values()}
    overall = "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"
    return health_response(overall, checks)
