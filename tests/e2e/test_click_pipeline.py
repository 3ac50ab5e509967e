"""Every redirect counted exactly once: through nginx, the Redis stream and the worker.

Each test makes N redirects and waits until the stats say N, then waits a little longer
and checks they still say N (a double count would show up as more). Faults are made with
Docker itself, on the project's own containers only. A worker killed mid-ingestion is in
the faults tier (tests/faults/test_worker_faults.py): it waits out the re-claim time.
"""

import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.stack import Stack

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


def aof_written(stack: Stack) -> bool:
    """Every write Redis acknowledged is in its append-only file, as far as a killed process
    is concerned: handed to the kernel (`appendfsync everysec` may postpone that while an
    fsync is slow, for up to 2 s; the fsync itself matters only if the machine dies)."""
    info = stack.redis("INFO", "persistence")
    fields = dict(line.strip().split(":", 1) for line in info.splitlines() if ":" in line)
    return fields["aof_buffer_length"] == "0"


def test_n_clicks_across_a_cache_crash(
    client: httpx.Client, stack: Stack, stopped_worker: None
) -> None:
    # The protection under test: the cache's append-only file (docker-compose.yml).
    assert stack.redis("CONFIG", "GET", "appendonly").split() == ["appendonly", "yes"]
    code = shorten(client)
    link = stack.link_id(code)
    follow(client, code, REDIRECTS)
    # Not yet ingested: the clicks live only in the stream, none in Postgres.
    assert stack.clicks_in_stream(link) == REDIRECTS
    assert client.get(f"/api/links/{code}/stats").json()["all_time"]["clicks"] == 0
    deadline = time.monotonic() + 10
    while not aof_written(stack):
        assert time.monotonic() < deadline, "Redis kept its AOF buffer unwritten for 10 s"
        time.sleep(0.2)

    # A crash, not a shutdown: SIGKILL to Redis' process (the container's main one), so it
    # writes no RDB snapshot on the way out (it would on SIGTERM, `compose restart`), and
    # Docker's restart policy brings it back (`docker kill` would count as an operator's
    # stop and keep it down; docs/reliability.md, "How the faults are made").
    cache = stack.container("cache")
    crashed = stack.inspect(cache)
    os.kill(crashed["State"]["Pid"], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while stack.inspect(cache)["RestartCount"] == crashed["RestartCount"]:
        assert time.monotonic() < deadline, "Docker did not restart the killed cache"
        time.sleep(0.5)
    stack.wait_healthy("cache")

    # The new Redis process read its AOF back: every click is in the stream again.
    assert stack.clicks_in_stream(link) == REDIRECTS
    stack.compose("start", "worker")
    assert_counted_exactly(client, code, REDIRECTS)
