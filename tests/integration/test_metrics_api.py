"""The api's /metrics against real Postgres and Redis: requests by route template, their
latency histogram, and the redirect cache's hits and misses."""

from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shortener.settings import Settings
from tests.integration.conftest import ServeApi
from tests.integration.containers import closed_port

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def cache_lookups(samples: Samples, result: str) -> float:
    return value(samples, "shortener_link_cache_lookups_total", result=result)


def cached_answers(samples: Samples) -> float:
    """Lookups answered by a cache: the process's own (for a second) or Redis."""
    return cache_lookups(samples, "local") + cache_lookups(samples, "hit")


async def shorten(client: httpx.AsyncClient, alias: str) -> None:
    response = await client.post("/api/links", json={"url": "https://example.org/", "alias": alias})
    assert response.status_code == 201, response.text


async def test_requests_are_counted_and_timed_by_route_template(
    client: httpx.AsyncClient,
) -> None:
    before = await scrape(client)
    await shorten(client, "Metric1")
    await shorten(client, "Metric2")
    for code in ("Metric1", "Metric2", "Metric1"):
        assert (await client.get(f"/{code}")).status_code == 302
    assert (await client.get("/api/links/Metric2")).status_code == 200
    assert (await client.get("/NoSuchCode")).status_code == 404

    after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "shortener_http_requests_total"
    assert grew(requests, route="/api/links", method="POST", status="201") == 2
    assert grew(requests, route="/{code}", method="GET", status="302") == 3
    assert grew(requests, route="/{code}", method="GET", status="404") == 1
    assert grew(requests, route="/api/links/{code}", method="GET", status="200") == 1
    # The scrape before this one was counted too, once it had been answered.
    assert grew(requests, route="/metrics", method="GET", status="200") == 1
    # Never a path a client chose: only templates, and the one label for unmatched paths.
    routes = {dict(labels).get("route") for name, labels in after if name == requests}
    assert not any("Metric" in route or "NoSuch" in route for route in routes if route)

    histogram = "shortener_http_request_duration_seconds"
    redirects = {"route": "/{code}", "method": "GET"}
    assert grew(f"{histogram}_count", **redirects) == 4
    assert grew(f"{histogram}_sum", **redirects) > 0
    assert grew(f"{histogram}_bucket", le="+Inf", **redirects) == 4
    assert value(after, f"{histogram}_bucket", le="0.001", **redirects) <= value(
        after, f"{histogram}_bucket", le="10.0", **redirects
    )


async def test_the_first_redirect_misses_the_cache_and_the_next_ones_hit(
    client: httpx.AsyncClient,
) -> None:
    await shorten(client, "Cached1")  # a create drops any cached answer: nothing cached yet
    start = await scrape(client)

    await client.get("/Cached1")
    first = await scrape(client)
    await client.get("/Cached1")
    await client.get("/Cached1")
    later = await scrape(client)

    assert cache_lookups(first, "miss") - cache_lookups(start, "miss") == 1
    assert cached_answers(first) - cached_answers(start) == 0
    assert cached_answers(later) - cached_answers(first) == 2
    assert cache_lookups(later, "miss") - cache_lookups(first, "miss") == 0


async def test_a_process_answers_a_link_it_just_resolved_without_redis(
    client: httpx.AsyncClient,
) -> None:
    await shorten(client, "Local1")
    await client.get("/Local1")  # a miss: Postgres, then both caches filled
    start = await scrape(client)
    await client.get("/Local1")  # well within LOCAL_LINK_CACHE_SECONDS (1 s)
    end = await scrape(client)
    assert cache_lookups(end, "local") - cache_lookups(start, "local") == 1
    assert cache_lookups(end, "hit") - cache_lookups(start, "hit") == 0


async def test_an_unknown_code_is_a_miss_then_a_hit_of_the_cached_404(
    client: httpx.AsyncClient,
) -> None:
    start = await scrape(client)
    assert (await client.get("/Unknown1")).status_code == 404
    assert (await client.get("/Unknown1")).status_code == 404
    end = await scrape(client)
    assert cache_lookups(end, "miss") - cache_lookups(start, "miss") == 1
    assert cached_answers(end) - cached_answers(start) == 1


async def test_without_redis_lookups_count_as_errors(
    serve_api: ServeApi, make_api_settings: Callable[..., Settings], client: httpx.AsyncClient
) -> None:
    await shorten(client, "NoCache1")
    start = await scrape(client)
    settings = make_api_settings(redis_host="127.0.0.1", redis_port=closed_port())
    async with serve_api(settings) as without_redis:
        assert (await without_redis.get("/NoCache1")).status_code == 302
    # The counters are the process's: the first app's /metrics shows the second's lookups.
    end = await scrape(client)
    assert cache_lookups(end, "error") - cache_lookups(start, "error") == 1
    assert cache_lookups(end, "hit") == cache_lookups(start, "hit")
