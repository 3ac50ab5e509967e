"""A worker SIGKILLed while it holds clicks it has read and not acknowledged.

The exactly-once path of docs/clicks.md: a run writes a batch in one transaction, commits,
and only then acknowledges it (XACK); entries a dead consumer holds stay pending until
they have been idle for CLICK_CLAIM_IDLE_SECONDS (60 s, the production value, kept here),
when a live worker re-claims them and writes them again, and the stream id key makes a
second write of an already committed click add nothing.

How the kill lands mid-ingestion: with the workers stopped, 300 redirects are made and
100,000 copies of the last one's event (the api's own fields) appended to the stream, a
backlog that keeps the production variant's two workers busy for seconds. The moment
XPENDING shows entries held by one worker's consumer, that worker's main process is
SIGKILLed (its work horse dies with it), as in test_api_replica_faults.py, so Docker's
restart policy brings it back under a new consumer name. Right after the kill the dead
consumer must still hold entries: only it could have acknowledged them. The test then
watches until nothing is pending any more (past the re-claim) and five seconds longer,
so that a double count would be seen, and asks for the exact number.
"""

import base64
import json
import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.stack import Stack
from tests.faults.conftest import record
from tests.faults.probes import (
    CLICK_STREAM,
    clicks_counted,
    health,
    pending_by_consumer,
    state,
    undelivered,
    worker_names,
)
from tests.faults.traffic import wait_until

pytestmark = pytest.mark.e2e

REDIRECTS = 300  # below the redirect zone's burst (400): nginx never answers 429 instead
BACKLOG = 100_000
CLAIM_IDLE_SECONDS = 60  # CLICK_CLAIM_IDLE_SECONDS: the worker's default, not overridden
REFERRER = "news.example"
# Copies of the stream's newest entry, fields and all, appended inside Redis in one call.
APPEND_COPIES = """
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
for _ = 1, tonumber(ARGV[1]) do redis.call('XADD', KEYS[1], '*', unpack(newest[2])) end
return redis.call('XLEN', KEYS[1])
"""


def all_workers(stack: Stack) -> list[str]:
    return stack.compose("ps", "--all", "--quiet", "worker").split()


@pytest.fixture
def workers_restored(prod: Stack) -> Iterator[None]:
    """Both workers run and are healthy again afterwards, whatever the test did."""
    yield
    prod.compose("start", "worker")
    wait_until(
        lambda: all(health(prod, worker) == "healthy" for worker in all_workers(prod)),
        timeout=120,
    )


def webhook_clicks(prod: Stack, code: str) -> int:
    """The clicks of `code` the receiver got in link.clicked deliveries (one per message)."""
    address = prod.compose("port", "receiver", "8080").strip().splitlines()[-1]
    notes = httpx.get(f"http://{address}/", timeout=10).json()
    by_message = {note["headers"]["webhook-id"]: note for note in notes}  # repeats dropped
    bodies = [json.loads(base64.b64decode(note["body"])) for note in by_message.values()]
    return sum(b["data"]["clicks"] for b in bodies if b["data"]["code"] == code)


def test_worker_sigkilled_mid_ingestion(
    prod: Stack, client: httpx.Client, workers_restored: None
) -> None:
    created = client.post("/api/links", json={"url": "https://example.org/worker-kill"})
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    # Its clicks also go to a webhook, built in the ingestion's own transaction.
    hooked = client.post(
        "/api/webhooks",
        json={"url": "http://receiver:8080/clicks", "events": ["link.clicked"], "codes": [code]},
    )
    assert hooked.status_code == 201, hooked.text
    link = prod.link_id(code)
    workers = all_workers(prod)
    assert len(workers) == 2, workers

    # The backlog, appended while no worker reads the stream.
    prod.compose("stop", "worker")
    with prod.client() as visitor:
        for _ in range(REDIRECTS):
            response = visitor.get(f"/{code}", headers={"Referer": f"https://{REFERRER}/item"})
            assert response.status_code == 302, response.text
    # The api appends a click just after its reply: wait for the last ones.
    wait_until(lambda: prod.clicks_in_stream(link) == REDIRECTS, timeout=10)
    prod.redis("EVAL", APPEND_COPIES, "1", CLICK_STREAM, str(BACKLOG))
    expected = REDIRECTS + BACKLOG
    assert prod.clicks_in_stream(link) == expected
    assert clicks_counted(prod, [code]) == 0

    prod.compose("start", "worker")
    names = worker_names(prod, workers)
    pids = {worker: state(prod, worker)["Pid"] for worker in workers}
    restarts = {worker: prod.inspect(worker)["RestartCount"] for worker in workers}

    # The kill: the first moment a worker's consumer holds entries it has not acknowledged.
    deadline = time.monotonic() + 60
    while True:
        pending = pending_by_consumer(prod)
        victim = next((worker for worker in workers if pending.get(names[worker])), None)
        if victim is not None:
            break
        assert time.monotonic() < deadline, f"no worker held entries within 60 s: {pending}"
        time.sleep(0.2)
    os.kill(pids[victim], signal.SIGKILL)
    killed_at = time.monotonic()
    dead = names[victim]
    held_before = pending[dead]
    held = pending_by_consumer(prod).get(dead, 0)
    # Only the killed worker could have acknowledged these: they were un-acked at the kill.
    assert held > 0, (
        f"{dead} held {held_before} entries just before the kill and none after it:"
        " it acknowledged them first, the kill came between two runs"
    )

    # The other worker, and the killed one restarted by Docker under a new name, ingest the
    # rest; the dead consumer's entries wait for the re-claim time.
    def drained_but_the_dead() -> bool:
        return undelivered(prod) == 0 and set(pending_by_consumer(prod)) <= {dead}

    drained_at = wait_until(drained_but_the_dead, timeout=CLAIM_IDLE_SECONDS + 120)
    counted_then = clicks_counted(prod, [code])
    held_then = pending_by_consumer(prod).get(dead, 0)

    # Past the re-claim: nothing pending any more, every click counted.
    deadline = killed_at + CLAIM_IDLE_SECONDS + 120
    while True:
        pending = pending_by_consumer(prod)
        counted = clicks_counted(prod, [code])
        if not pending and counted >= expected:
            break
        assert time.monotonic() < deadline, (
            f"{counted} of {expected} clicks counted, pending {pending},"
            f" {time.monotonic() - killed_at:.0f} s after the kill ({dead} killed holding {held})"
        )
        time.sleep(2)
    settled_at = time.monotonic()
    time.sleep(5)  # a few more ingestion runs: a duplicate would appear now
    counted = clicks_counted(prod, [code])
    assert counted == expected, f"{counted} clicks counted for {expected} appended"
    stats = client.get(f"/api/links/{code}/stats").json()
    assert stats["all_time"]["clicks"] == expected
    assert stats["top_referrers"] == [{"host": REFERRER, "clicks": expected}]
    assert prod.inspect(victim)["RestartCount"] > restarts[victim]  # Docker brought it back
    # The webhook's link.clicked deliveries add up to the same count: a batch ingested
    # twice (the dead consumer's, re-claimed) made no second delivery.
    wait_until(lambda: webhook_clicks(prod, code) >= expected, timeout=30)
    assert webhook_clicks(prod, code) == expected

    record(
        "test_worker_sigkilled_mid_ingestion",
        f"{REDIRECTS} redirects + {BACKLOG} copies of their event = {expected} entries;"
        f" a worker SIGKILLed holding {held} un-acked entries ({held_before} at the last look"
        f" before the kill); the rest ingested {drained_at - killed_at:.0f} s after the kill,"
        f" {counted_then} counted then, {held_then} still held by the dead consumer;"
        f" nothing pending and {expected} counted {settled_at - killed_at:.0f} s after the"
        f" kill; {counted} counted 5 s later",
    )
