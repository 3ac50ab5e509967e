"""The batch creation scenario: `POST /api/links/batch` with 1000 new links, called one
call after another by httpx (not wrk); its rate is in links/s and its latency per call."""

import time

import httpx

BATCH_SIZE = 1000


def batch_create(base_url: str, key: str, calls: int) -> dict:
    """`calls` batches of 1000 new links, one after another; the time of each call."""
    timings = []
    errors = 0
    with httpx.Client(
        base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {key}"}
    ) as client:
        for call in range(calls + 1):  # the first call warms up
            items = [{"url": f"https://example.org/batch/{call}/{n}"} for n in range(BATCH_SIZE)]
            started = time.perf_counter()
            response = client.post("/api/links/batch", json={"links": items})
            elapsed = time.perf_counter() - started
            ok = response.status_code == 200 and response.json()["created"] == BATCH_SIZE
            if call:
                timings.append(elapsed)
                errors += 0 if ok else 1
    timings.sort()
    return {
        "rps": BATCH_SIZE * len(timings) / sum(timings),
        "requests": len(timings),
        "p50_ms": 1000 * timings[len(timings) // 2],
        "p90_ms": 1000 * timings[int(0.9 * (len(timings) - 1))],
        "p99_ms": 1000 * timings[-1],
        "errors": errors,
        "connections": 1,
        "unit": "links/s",
    }
