"""redirects/fast.py answers a GET for a link the process resolved within the last second
without FastAPI's routing. Nothing a client, the metrics or the click stream see may tell
the shortcut's answer from the route's."""

import httpx
import pytest
import redis
from prometheus_client import REGISTRY

from shortener.clicks.record import STREAM

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


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
