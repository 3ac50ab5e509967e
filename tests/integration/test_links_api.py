"""The link API and redirects against real Postgres and Redis, through the app's ASGI
interface with its lifespan (pool and Redis client opened and closed as under uvicorn)."""

import json
import re
from datetime import UTC, datetime, timedelta

import anyio
import httpx
import psycopg
import pytest
import redis

from shortener.migrate.files import Migration
from tests.integration.containers import PUBLIC_BASE_URL

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

PROBLEM = "application/problem+json"
TARGET = "https://example.org/some/page?x=1"


async def shorten(client: httpx.AsyncClient, url: str = TARGET, **fields: str) -> str:
    response = await client.post("/api/links", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    return response.json()["code"]


async def test_create_stores_the_link_and_answers_its_short_url(
    client: httpx.AsyncClient, app_db: psycopg.Connection
) -> None:
    response = await client.post("/api/links", json={"url": TARGET})

    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"[A-Za-z0-9]{7}", body["code"])
    assert body["short_url"] == f"{PUBLIC_BASE_URL}/{body['code']}"
    assert body["url"] == TARGET
    assert body["expires_at"] is None
    assert response.headers["location"] == f"/api/links/{body['code']}"
    stored = app_db.execute(
        "SELECT url, expires_at FROM links WHERE code = %s", (body["code"],)
    ).fetchall()
    assert stored == [(TARGET, None)]


async def test_redirect_fills_the_cache(client: httpx.AsyncClient, cache: redis.Redis) -> None:
    code = await shorten(client)
    assert cache.get(f"link:{code}") is None

    response = await client.get(f"/{code}")

    assert response.status_code == 302
    assert response.headers["location"] == TARGET
    cached = json.loads(cache.get(f"link:{code}") or "")
    assert cached["url"] == TARGET
    assert cached["expires_at"] is None
    assert 0 < cache.ttl(f"link:{code}") <= 3600


async def test_cached_redirect_needs_no_database_row(
    client: httpx.AsyncClient, owner_db: psycopg.Connection
) -> None:
    code = await shorten(client)
    assert (await client.get(f"/{code}")).status_code == 302

    owner_db.execute("DELETE FROM links WHERE code = %s", (code,))
    response = await client.get(f"/{code}")

    # Only the cache still knows the link: this answer did not come from Postgres.
    assert response.status_code == 302
    assert response.headers["location"] == TARGET


async def test_unknown_code_is_404_and_remembered(
    client: httpx.AsyncClient, cache: redis.Redis, owner_db: psycopg.Connection
) -> None:
    response = await client.get("/Unknown")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/link-not-found")
    assert cache.get("link:Unknown") == ""  # the cached "no such link"
    assert 0 < cache.ttl("link:Unknown") <= 30

    # While remembered, a row created behind the cache's back is not seen: proof the
    # second answer came from Redis.
    owner_db.execute("INSERT INTO links (code, url) VALUES ('Unknown', %s)", (TARGET,))
    assert (await client.get("/Unknown")).status_code == 404


async def test_expired_link_is_gone(client: httpx.AsyncClient) -> None:
    expires_at = datetime.now(UTC) + timedelta(seconds=1.5)
    code = await shorten(client, expires_at=expires_at.isoformat())
    assert (await client.get(f"/{code}")).status_code == 302  # and now cached

    await anyio.sleep((expires_at - datetime.now(UTC)).total_seconds() + 0.2)
    response = await client.get(f"/{code}")

    assert response.status_code == 410
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/link-expired")


async def test_ready_when_both_backends_answer(
    client: httpx.AsyncClient, schema: list[Migration]
) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/health+json"
    # No country database configured (the default): ready, with a warning that says so.
    assert response.json() == {
        "status": "warn",
        "checks": {
            "database": {"status": "pass", "schema_version": schema[-1].version},
            "cache": {"status": "pass"},
            "countries": {"status": "warn", "output": "no country database configured"},
        },
    }
