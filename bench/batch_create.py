"""The batch creation scenario: `POST /api/links/batch` with 1000 new links, called one
call after another by httpx (not wrk); its rate is in links/s and its latency per call.

A call that did not create its 1000 links (another status, a short count, no answer within
30 s) is an error, the warm-up's too: bench/checks.py fails the run on it."""

import time

import httpx

BATCH_SIZE = 1000
CALL_TIMEOUT_SECONDS = 30


def created_all(response: httpx.Response) -> bool:
    """Whether the reply says the whole batch was created (api: links/manage.py)."""
    if response.status_code != 200:
        return False
    try:
        return response.json().get("created") == BATCH_SIZE
    except ValueError:  # not JSON: not the api's answer
        return False


def batch_create(
    base_url: str, key: str, calls: int, transport: httpx.BaseTransport | None = None
) -> dict:
    """`calls` batches of 1000 new links, one after another, after one that warms up; the
    time of each. `transport`: httpx's, for tests."""
    timings = []
    errors = 0
    with httpx.Client(
        base_url=base_url,
        timeout=CALL_TIMEOUT_SECONDS,
        headers={"Authorization": f"Bearer {key}"},
        transport=transport,
    ) as client:
        for call in range(calls + 1):  # the first call warms up
            items = [{"url": f"https://example.org/batch/{call}/{n}"} for n in range(BATCH_SIZE)]
            started = time.perf_counter()
            try:
                ok = created_all(client.post("/api/links/batch", json={"links": items}))
            except httpx.HTTPError:  # no answer in time, a dropped connection
                ok = False
            elapsed = time.perf_counter() - started
            errors += 0 if ok else 1
            if call:
                timings.append(elapsed)
    timings.sort()
    return {
        "rps": BATCH_SIZE * len(timings) / sum(timings),
        "requests": len(timings),
        "p50_ms": 1000 * timings[len(timings) // 2],
        "p90_ms": 1000 * timings[int(0.9 * (len(timings) - 1))],
        "p99_ms": 1000 * timings[-1],
        "max_ms": 1000 * timings[-1],  # the slowest call: the target holds for every call
        "errors": errors,
        "calls": calls + 1,  # every call made, the warm-up's included
        "connections": 1,
        "unit": "links/s",
    }
