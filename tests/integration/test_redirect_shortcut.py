"""redirects/fast.py answers a GET for a link either cache knows without FastAPI's routing.
Nothing a client, the metrics or the click stream see may tell the shortcut's answer from
the route's, and a code it cannot answer costs no second Redis read."""

import httpx
import pytest
import redis
from prometheus_client import REGISTRY

from shortener.clicks.record import STREAM
from shortener.settings import Settings
from tests.integration.conftest import ServeApi

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def redis_reads(cache: redis.Redis) -> int:
    """GET commands the Redis server has run: lookups of cached links (clicks use XADD)."""
    return int(cache.info("commandstats").get("cmdstat_get", {}).get("calls", 0))


def answer(response: httpx.Response) -> tuple[int, str | None, str | None]:
    headers = response.headers
    return response.status_code, headers.get("location"), headers.get("cache-control")


async def test_the_shortcut_answers_exactly_as_the_route_did(
    client: httpx.AsyncClient, cache: redis.Redis
) -> None:
    created = await client.post(
        "/api/links",
        json={"url": "https://example.org/a?x=1", "redirect_type": 301, "forward_query": True},
    )
    code = created.json()["code"]
    local = {"result": "local"}
    counted = {"route": "/{code}", "method": "GET", "status": "301"}
    local_before = sample("shortener_link_cache_lookups_total", **local)
    counted_before = sample("shortener_http_requests_total", **counted)

    first = await client.get(f"/{code}?utm=b")  # the route: resolves and keeps the answer
    second = await client.get(f"/{code}?utm=b")  # the shortcut

    assert answer(first) == (301, "https://example.org/a?x=1&utm=b", "private, max-age=3600")
    assert answer(second) == answer(first)
    assert sample("shortener_link_cache_lookups_total", **local) == local_before + 1
    assert sample("shortener_http_requests_total", **counted) == counted_before + 2
    link_ids = {fields["link"] for _, fields in cache.xrange(STREAM)}
    assert cache.xlen(STREAM) == 2 and len(link_ids) == 1  # both clicks recorded


async def test_a_head_request_is_left_to_the_route_and_not_counted_as_a_click(
    client: httpx.AsyncClient, cache: redis.Redis
) -> None:
    code = (await client.post("/api/links", json={"url": "https://example.org/"})).json()["code"]
    assert (await client.get(f"/{code}")).status_code == 302
    assert (await client.head(f"/{code}")).status_code == 302
    assert cache.xlen(STREAM) == 1


async def test_a_link_with_a_visit_limit_is_counted_on_every_visit(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/api/links", json={"url": "https://example.org/", "max_visits": 2})
    code = created.json()["code"]
    statuses = [(await client.get(f"/{code}")).status_code for _ in range(3)]
    assert statuses == [302, 302, 410]


async def test_a_deleted_link_is_not_answered_from_the_process_cache(
    client: httpx.AsyncClient,
) -> None:
    code = (await client.post("/api/links", json={"url": "https://example.org/"})).json()["code"]
    assert (await client.get(f"/{code}")).status_code == 302
    assert (await client.delete(f"/api/links/{code}")).status_code == 204
    assert (await client.get(f"/{code}")).status_code == 404


async def test_a_link_only_redis_knows_is_answered_with_one_read(
    serve_api: ServeApi, api_settings: Settings, cache: redis.Redis
) -> None:
    # Two replicas: the first fills Redis; the second has nothing of its own yet.
    async with serve_api(api_settings) as first, serve_api(api_settings) as second:
        created = await first.post("/api/links", json={"url": "https://example.org/r"})
        code = created.json()["code"]
        from_route = await first.get(f"/{code}")
        reads = redis_reads(cache)
        from_redis = await second.get(f"/{code}")
        assert redis_reads(cache) == reads + 1
        from_local = await second.get(f"/{code}")
        assert redis_reads(cache) == reads + 1  # kept by the second replica
    assert answer(from_redis) == answer(from_local) == answer(from_route)
    assert answer(from_route) == (302, "https://example.org/r", "private, max-age=90")


@pytest.mark.parametrize("exists", [True, False], ids=["link", "no-link"])
async def test_a_code_no_cache_knows_costs_one_redis_read(
    client: httpx.AsyncClient, cache: redis.Redis, exists: bool
) -> None:
    """The shortcut asks, the route goes to Postgres with the shortcut's answer."""
    if exists:
        code = (await client.post("/api/links", json={"url": "https://example.org/"})).json()[
            "code"
        ]
    else:
        code = "never-made"
    reads = redis_reads(cache)
    response = await client.get(f"/{code}")
    assert response.status_code == (302 if exists else 404)
    assert redis_reads(cache) == reads + 1
    assert cache.exists(f"link:{code}")  # the route filled Redis for the other replicas


async def test_the_metrics_path_is_never_looked_up_as_a_code(
    client: httpx.AsyncClient, cache: redis.Redis
) -> None:
    reads = redis_reads(cache)
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert redis_reads(cache) == reads
