"""With a backend unreachable: no Redis still redirects (from Postgres), no Postgres is a
503 problem, not a 500 and not a hang."""

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager

import httpx
import psycopg
import pytest

from shortener.settings import Settings
from tests.integration.containers import APP, SUPERUSER, Postgres, closed_port

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

TARGET = "https://example.org/degraded"

# The conftest's serve_api fixture: `async with serve_api(settings) as client`.
ServeApi = Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]


async def test_without_redis_links_work_from_postgres_and_ready_warns(
    serve_api: ServeApi, make_api_settings: Callable[..., Settings]
) -> None:
    # Slow today (~10 s): every Redis call goes through redis-py's default retries and
    # backoff before giving up; fast once the client is built with fewer retries.
    settings = make_api_settings(redis_host="127.0.0.1", redis_port=closed_port())
    async with serve_api(settings) as client:
        created = await client.post("/api/links", json={"url": TARGET})
        assert created.status_code == 201
        code = created.json()["code"]

        redirect = await client.get(f"/{code}")
        assert redirect.status_code == 302
        assert redirect.headers["location"] == TARGET

        ready = await client.get("/health/ready")
    assert ready.status_code == 200  # still in rotation: redirects work
    checks = ready.json()["checks"]
    assert ready.json()["status"] == "warn"
    assert checks["cache"]["status"] == "warn"
    assert checks["database"]["status"] == "pass"


async def test_without_postgres_answers_are_503_problems(
    serve_api: ServeApi,
    make_api_settings: Callable[..., Settings],
    app_db: psycopg.Connection,
) -> None:
    app_db.execute("INSERT INTO links (code, url) VALUES ('Uncached', %s)", (TARGET,))
    settings = make_api_settings(
        database_host="127.0.0.1", database_port=closed_port(), database_timeout_seconds=1
    )
    async with serve_api(settings) as client:
        started = time.monotonic()
        created = await client.post("/api/links", json={"url": TARGET})
        waited = time.monotonic() - started
        # A code Redis does not know needs Postgres: the redirect fails the same way.
        redirect = await client.get("/Uncached")
        ready = await client.get("/health/ready")

    for response in (created, redirect):
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/database-unavailable")
        assert response.headers["retry-after"] == "5"
    # The configured 1 s applies: the create waited for the pool that long, once (its key
    # check is the first query, and the only one tried), and not for psycopg_pool's 30 s
    # default (docs/reliability.md has the figures measured).
    assert 1.0 <= waited < 1.5, waited
    assert ready.status_code == 503
    assert ready.json()["status"] == "fail"
    assert ready.json()["checks"]["database"]["status"] == "fail"
    assert ready.json()["checks"]["cache"]["status"] == "pass"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port whose kernel completes every TCP handshake (the listen backlog) but
    where nothing ever answers: a hung Redis, as `docker pause` makes one."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield server.getsockname()[1]


async def test_with_redis_hanging_a_redirect_waits_one_redis_timeout(
    serve_api: ServeApi,
    make_api_settings: Callable[..., Settings],
    app_db: psycopg.Connection,
    silent_port: int,
) -> None:
    app_db.execute("INSERT INTO links (code, url) VALUES ('Hanging', %s)", (TARGET,))
    settings = make_api_settings(
        redis_host="127.0.0.1", redis_port=silent_port, redis_timeout_seconds=0.5
    )
    async with serve_api(settings) as client:
        started = time.monotonic()
        # HEAD: no click to record after the reply (the in-process client waits for it).
        redirect = await client.head("/Hanging")
        waited = time.monotonic() - started
    assert redirect.status_code == 302
    # One read that times out, then Postgres; no retry of the timed-out read and no cache
    # fill after it, which took four timeouts (2 s here) before. The faults tier measures
    # the same through nginx with the real Redis paused.
    assert waited < 1.0, waited


async def test_a_database_taking_no_writes_answers_503_problems(
    serve_api: ServeApi, api_settings: Settings, postgres: Postgres
) -> None:
    # What a restore's replay looks like to the api (docs/backups.md): a server in
    # recovery accepts connections once consistent, read-only, until it is promoted.
    # Writes then fail with SQLSTATE 25006, which must read as "unavailable", not a 500.
    with postgres.connect(SUPERUSER) as admin:
        admin.execute(f"ALTER ROLE {APP} SET default_transaction_read_only = on")
        try:
            async with serve_api(api_settings) as client:
                created = await client.post("/api/links", json={"url": TARGET})
        finally:
            admin.execute(f"ALTER ROLE {APP} RESET default_transaction_read_only")
    assert created.status_code == 503, created.text
    assert created.headers["content-type"] == "application/problem+json"
    assert created.json()["type"].endswith("/database-unavailable")
