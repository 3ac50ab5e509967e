"""Every redirect counted exactly once: through nginx, the Redis stream and the worker.

Each test makes N redirects and waits until the stats say N, then waits a little longer
and checks they still say N (a double count would show up as more). Faults are made with
Docker itself, on the project's own containers only.
"""

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.stack import Stack, run

pytestmark = pytest.mark.e2e

# Below the redirect zone's burst (400), so nginx's rate limit never answers instead.
REDIRECTS = 150


def shorten(client: httpx.Client) -> str:
    response = client.post("/api/links", json={"url": "https://example.org/counted"})
    assert response.status_code == 201, response.text
    return response.json()["code"]


def follow(client: httpx.Client, code: str, times: int) -> None:
    for n in range(times):
        headers = {"Referer": "https://news.example/item", "User-Agent": f"Mozilla/5.0 run-{n % 3}"}
        assert client.get(f"/{code}", headers=headers).status_code == 302


def visits(client: httpx.Client, code: str) -> int:
    return client.get(f"/api/links/{code}").json()["visits"]


def assert_counted_exactly(
    client: httpx.Client, code: str, expected: int, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while (seen := visits(client, code)) < expected:
        assert time.monotonic() < deadline, f"only {seen} of {expected} clicks after {timeout} s"
        time.sleep(1)
    time.sleep(5)  # a few more ingestion rounds: a duplicate would appear now
    assert visits(client, code) == expected
    stats = client.get(f"/api/links/{code}/stats").json()
    assert stats["all_time"]["clicks"] == expected
    assert stats["in_range"]["clicks"] == expected
    assert stats["top_referrers"] == [{"host": "news.example", "clicks": expected}]


@pytest.fixture
def stopped_worker(stack: Stack) -> Iterator[None]:
    """Clicks pile up in the stream while the workers are stopped; started again after."""
    stack.compose("stop", "worker")
    try:
        yield
    finally:
        stack.compose("up", "--detach", "--wait", "--scale", "worker=1", "worker", timeout=300)


def test_n_redirects_make_n_clicks(client: httpx.Client) -> None:
    code = shorten(client)
    follow(client, code, REDIRECTS)
    assert_counted_exactly(client, code, REDIRECTS)


def test_n_clicks_with_three_workers(client: httpx.Client, stack: Stack) -> None:
    stack.compose("up", "--detach", "--wait", "--scale", "worker=3", "--no-recreate", timeout=300)
    try:
        assert len(stack.compose("ps", "--quiet", "worker").split()) == 3
        code = shorten(client)
        follow(client, code, REDIRECTS)
        assert_counted_exactly(client, code, REDIRECTS)
    finally:
        stack.compose(
            "up", "--detach", "--wait", "--scale", "worker=1", "--no-recreate", timeout=300
        )


def test_n_clicks_when_a_worker_is_killed_while_ingesting(
    client: httpx.Client, stack: Stack, stopped_worker: None
) -> None:
    code = shorten(client)
    follow(client, code, REDIRECTS * 2)
    worker = stack.container("worker")
    run(["docker", "start", worker])
    time.sleep(1.5)  # scheduler up, first ingest job under way
    run(["docker", "kill", "--signal", "KILL", worker])
    # Its un-acknowledged entries are re-claimed by the next worker after the idle time.
    run(["docker", "start", worker])
    assert_counted_exactly(client, code, REDIRECTS * 2)


def test_n_clicks_across_a_cache_restart(
    client: httpx.Client, stack: Stack, stopped_worker: None
) -> None:
    code = shorten(client)
    follow(client, code, REDIRECTS)
    # Not yet ingested: the events live only in Redis, which must keep them (AOF).
    stack.compose("restart", "cache")
    stack.wait_healthy("cache")
    stack.compose("start", "worker")
    assert_counted_exactly(client, code, REDIRECTS)
