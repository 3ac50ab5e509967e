"""Redis (the `cache` service) stopped or hung while redirects flow.

Redis is an accelerator for redirects and the buffer of the click stream: without it,
redirects keep working from Postgres, readiness says `warn` (the api stays in rotation),
and each click that cannot be appended is counted in shortener_clicks_lost_total (or, sent
as Redis went away and never answered, in shortener_clicks_unconfirmed_total).
"""

import statistics
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.stack import Stack, run
from tests.faults.conftest import record, shorten
from tests.faults.probes import api_counter, clicks_counted
from tests.faults.traffic import Flow, Traffic, follow, summary, wait_until

pytestmark = pytest.mark.e2e

RECORDED = "shortener_clicks_recorded_total"
LOST = "shortener_clicks_lost_total"
UNCONFIRMED = "shortener_clicks_unconfirmed_total"
# Lookups whose Redis read failed, so Postgres answered (api/shortener/links/lookup.py).
LOOKUP_ERRORS = 'shortener_link_cache_lookups_total{result="error"}'
REDIRECTS_PER_SECOND = 40


@pytest.fixture
def cache_restored(prod: Stack) -> Iterator[None]:
    """Whatever a test did to the cache, it runs and is healthy again afterwards."""
    yield
    cache = prod.container("cache")
    if prod.inspect(cache)["State"]["Paused"]:
        run(["docker", "unpause", cache])
    prod.compose("start", "cache")
    prod.wait_healthy("cache")


def test_cache_stopped_while_redirects_flow(
    prod: Stack, client: httpx.Client, cache_restored: None
) -> None:
    codes = shorten(client, 10, "https://example.org/cache-stopped")
    # Links never followed: in no cache, neither Redis nor any api process's own (a
    # create fills none), so during the outage only Postgres can answer them.
    unasked = {}
    for number in range(5):
        url = f"https://example.org/cache-stopped/unasked/{number}"
        created = client.post("/api/links", json={"url": url})
        assert created.status_code == 201, created.text
        unasked[created.json()["code"]] = url
    # The warm-up redirects above are ingested before anything is counted.
    wait_until(lambda: clicks_counted(prod, codes) == len(codes), timeout=60)
    counts_before = {name: api_counter(prod, name) for name in (RECORDED, LOST, UNCONFIRMED)}
    lookup_errors_before = api_counter(prod, LOOKUP_ERRORS)

    traffic = Traffic(prod.base_url, [Flow("redirect", REDIRECTS_PER_SECOND, follow(codes), 4)])
    with traffic:
        time.sleep(3)
        prod.compose("stop", "cache")
        down_from = time.monotonic()
        time.sleep(2)
        with prod.client() as probe:
            readiness = [probe.get("/health/ready") for _ in range(4)]  # both replicas
            first_asked = {code: probe.get(f"/{code}") for code in unasked}
        time.sleep(3)
        down_until = time.monotonic()
        prod.compose("start", "cache")
        prod.wait_healthy("cache")
        time.sleep(3)
    time.sleep(2)  # the last clicks' background tasks finish after their replies

    redirects = traffic.of("redirect")
    during = traffic.of("redirect", down_from, down_until)
    # From Postgres: links that no cache held redirect to their targets (an api process's
    # own cache may answer the flow's links, a second at a time); each such lookup is
    # counted as one whose Redis read failed.
    for code, response in first_asked.items():
        assert response.status_code == 302, response.text
        assert response.headers["location"] == unasked[code]
    lookup_errors = api_counter(prod, LOOKUP_ERRORS) - lookup_errors_before
    assert lookup_errors >= len(unasked), lookup_errors
    assert all(o.status == 302 for o in redirects), summary(redirects)
    # Redirects flowed all through the outage (each paying a failed Redis connection).
    assert len(during) >= 20, summary(during)
    for ready in readiness:
        assert ready.status_code == 200, ready.text  # still in rotation
        assert ready.json()["status"] == "warn"
        assert ready.json()["checks"]["cache"]["status"] == "warn"
        assert ready.json()["checks"]["database"]["status"] == "pass"

    recorded, lost, unconfirmed = (
        api_counter(prod, name) - before for name, before in counts_before.items()
    )
    # Every redirect's click was appended, lost, or unconfirmed (sent just as Redis went
    # away, no answer): none vanished.
    made = len(redirects) + len(first_asked)
    assert recorded + lost + unconfirmed == made, (recorded, lost, unconfirmed, made)
    # The outage reached the clicks: most of those made while Redis was away were lost. Not
    # all: a CI run beside another tier recorded 9 of 176 of them (lost 157 + unconfirmed
    # 10), their appends finishing once Redis was back: late, not lost, and the line above
    # held. So the bound is half.
    assert lost + unconfirmed >= (len(during) + len(first_asked)) / 2, (
        lost,
        unconfirmed,
        len(during),
    )
    # ... and every appended click is ingested once the workers are back on the restarted
    # cache. Entries a worker had read but not acknowledged when Redis went away are taken
    # over after the claim threshold (CLICK_CLAIM_IDLE_SECONDS, 60 s): hence the wait.
    expected = len(codes) + recorded
    deadline = time.monotonic() + 150
    while (counted := clicks_counted(prod, [*codes, *unasked])) < expected:
        assert time.monotonic() < deadline, f"{counted} clicks counted, {expected} recorded"
        time.sleep(2)
    # An unconfirmed click may be in the stream (seen in CI: 388 counted, 387 recorded),
    # and is then counted once.
    assert counted <= expected + unconfirmed, (counted, expected, unconfirmed)
    record(
        "test_cache_stopped_while_redirects_flow",
        f"{len(redirects)} redirects, all 302 ({len(during)} while the cache was down: median"
        f" {statistics.median(o.seconds for o in during) * 1000:.0f} ms,"
        f" max {max(o.seconds for o in during) * 1000:.0f} ms);"
        f" clicks recorded {recorded:.0f} + lost {lost:.0f} + unconfirmed {unconfirmed:.0f}"
        f" = {made}, {counted - len(codes)} ingested; {len(unasked)} links no cache held"
        f" 302 from Postgres, {lookup_errors:.0f} lookups past the failed Redis read;"
        f" ready: {readiness[0].json()['status']}",
    )


def test_cache_paused_redirects_answer_within_bound(
    prod: Stack, client: httpx.Client, cache_restored: None
) -> None:
    codes = shorten(client, 5, "https://example.org/cache-paused")
    cache = prod.container("cache")
    run(["docker", "pause", cache])
    try:
        timings = []
        with prod.client() as visitor:
            for number in range(30):
                started = time.monotonic()
                response = visitor.get(f"/{codes[number % len(codes)]}")
                timings.append(time.monotonic() - started)
                assert response.status_code == 302, response.text
            started = time.monotonic()
            ready = visitor.get("/health/ready")
            ready_seconds = time.monotonic() - started
    finally:
        run(["docker", "unpause", cache])
    # The cache timeout is 0.25 s (REDIS_TIMEOUT_SECONDS): one read that times out, then
    # Postgres. Bounds are loose for a busy machine, yet far below any socket default
    # (none for redis-py, 30 s for nginx's proxy_read_timeout) and below two timeouts.
    median = statistics.median(timings)
    record(
        "test_cache_paused_redirects_answer_within_bound",
        f"30 redirects with Redis paused: median {median * 1000:.0f} ms,"
        f" max {max(timings) * 1000:.0f} ms; /health/ready {ready_seconds * 1000:.0f} ms"
        f" ({ready.json()['status']})",
    )
    assert median < 0.45, timings
    assert max(timings) < 1.5, timings
    assert ready.status_code == 200
    assert ready.json()["checks"]["cache"]["status"] == "warn"
