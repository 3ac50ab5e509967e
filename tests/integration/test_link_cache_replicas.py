"""Each api process keeps its redirect answers for a second (links/local_cache.py): a change
made through one replica must reach every other one at once (announced through Redis),
and within LOCAL_LINK_CACHE_SECONDS should the announcement be lost. Two apps against the
same Postgres and Redis stand for two replicas."""

import asyncio
import time
from collections.abc import Callable

import httpx
import psycopg
import pytest
import redis

from shortener.settings import Settings
from tests.integration.conftest import ServeApi

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

BOUND_SECONDS = 2.0  # what the link API promises for an edit to reach every replica


async def target_of(replica: httpx.AsyncClient, code: str) -> tuple[int, str | None]:
    response = await replica.get(f"/{code}")
    return response.status_code, response.headers.get("location")


async def seconds_until(
    replica: httpx.AsyncClient, code: str, expected: tuple[int, str | None]
) -> float:
    """How long until `replica` answers `expected` (polled every 10 ms, up to 5 s)."""
    started = time.monotonic()
    while (answer := await target_of(replica, code)) != expected:
        assert time.monotonic() - started < 5, f"still {answer}, expected {expected}"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_an_edit_and_a_delete_reach_the_other_replica_at_once(
    serve_api: ServeApi, api_settings: Settings
) -> None:
    async with serve_api(api_settings) as first, serve_api(api_settings) as second:
        created = await first.post("/api/links", json={"url": "https://example.org/v1"})
        code = created.json()["code"]
        for replica in (first, second):  # both have it in their own cache now
            assert await target_of(replica, code) == (302, "https://example.org/v1")

        await first.patch(f"/api/links/{code}", json={"url": "https://example.org/v2"})
        # The replica that made the change dropped its copy before answering.
        assert await target_of(first, code) == (302, "https://example.org/v2")
        # The other one hears of it through Redis: far sooner than its copy would expire.
        assert await seconds_until(second, code, (302, "https://example.org/v2")) < 0.5

        await first.delete(f"/api/links/{code}")
        assert await seconds_until(second, code, (404, None)) < 0.5


async def test_a_lost_announcement_is_bounded_by_the_local_lifetime(
    serve_api: ServeApi, api_settings: Settings, app_db: psycopg.Connection, cache: redis.Redis
) -> None:
    assert api_settings.local_link_cache_seconds <= BOUND_SECONDS
    async with serve_api(api_settings) as replica:
        created = await replica.post("/api/links", json={"url": "https://example.org/old"})
        code = created.json()["code"]
        assert await target_of(replica, code) == (302, "https://example.org/old")

        # A change nobody announces (as if the subscription were down): the row and the
        # Redis entry change, the process's own copy is left alone.
        app_db.execute("UPDATE links SET url = 'https://example.org/new' WHERE code = %s", (code,))
        cache.delete(f"link:{code}")
        assert await target_of(replica, code) == (302, "https://example.org/old")  # its copy
        waited = await seconds_until(replica, code, (302, "https://example.org/new"))
        assert waited <= BOUND_SECONDS


async def test_with_the_local_cache_off_every_lookup_asks_redis(
    serve_api: ServeApi, make_api_settings: Callable[..., Settings], cache: redis.Redis
) -> None:
    async with serve_api(make_api_settings(local_link_cache_seconds=0)) as replica:
        created = await replica.post("/api/links", json={"url": "https://example.org/off"})
        code = created.json()["code"]
        assert await target_of(replica, code) == (302, "https://example.org/off")
        cache.set(f"link:{code}", "")  # Redis now says "no such link": it is asked each time
        assert await target_of(replica, code) == (404, None)
