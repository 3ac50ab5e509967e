"""Imports and exports on the production variant: a worker SIGKILLed mid-import, and an
export of 200,000 links streamed with the api's memory bounded and the first link fast.

The kill: an import of ROWS rows (more than the key's creation quota of a minute, 6000,
so that the import also waits for the next minute partway). The moment the job's row says
some rows are done and not all, both workers' main processes are SIGKILLed (their work
horses die with them): whichever ran the import is dead. Docker restarts them; the
worker's resume-imports job (every minute) finds the import silent for a minute and
enqueues it again, and the new run goes on from the last committed chunk. Every row must
then be a link exactly once: no duplicate mark, no missing row number, one
`link.created` event each.

The export: 200,000 links seeded with SQL (not through the API: the quota, and minutes),
then GET /api/links/export read through nginx while each api replica's memory (its
process's resident memory) is sampled: the growth must stay far below what holding the
export in memory would take (its text alone is ~16 MB; as Python rows, far more: 173 MiB
when the export was built in memory for one run, which this test failed). The first
*link* must arrive within a second, not merely the first byte: the CSV header is sent
before the query runs, so the first byte alone would pass an export built in memory. The
memory is each replica's process RSS, sampled every 0.1 s while the export is read.
"""

import os
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.stack import Stack
from tests.faults.conftest import record
from tests.faults.probes import health, replicas, state
from tests.faults.traffic import wait_until

pytestmark = pytest.mark.e2e

ROWS = 9000
EXPORTED = 200_000
# What the api may grow by while it streams: a batch of 1000 rows and the buffers around
# it. Building the file in memory first would take well over this (its text is ~20 MB).
MEMORY_GROWTH_BOUND = 16 * 1024 * 1024


@pytest.fixture
def workers_restored(prod: Stack) -> Iterator[None]:
    yield
    prod.compose("start", "worker")
    wait_until(
        lambda: all(
            health(prod, w) == "healthy"
            for w in prod.compose("ps", "--all", "--quiet", "worker").split()
        ),
        timeout=120,
    )


def job_progress(prod: Stack, job_id: int) -> tuple[str, int, int]:
    row = prod.sql(
        "SELECT state, processed, total FROM shortener.background_jobs WHERE id = :'id'",
        id=str(job_id),
    )
    job_state, processed, total = row.split("|")
    return job_state, int(processed), int(total)


def test_a_worker_sigkilled_mid_import_resumes_with_no_duplicates_and_no_gaps(
    prod: Stack, client: httpx.Client, workers_restored: None
) -> None:
    body = "url,tags\n" + "".join(f"https://example.org/import/{n},killed\n" for n in range(ROWS))
    started = client.post(
        "/api/imports", content=body.encode(), headers={"Content-Type": "text/csv"}, timeout=60
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    workers = prod.compose("ps", "--quiet", "worker").split()
    assert len(workers) == 2, workers
    pids = {worker: state(prod, worker)["Pid"] for worker in workers}

    deadline = time.monotonic() + 120
    while True:
        job_state, processed, total = job_progress(prod, job_id)
        if 0 < processed < total:
            break
        assert job_state != "done", "the import ended before the kill could land"
        assert time.monotonic() < deadline, f"no progress within 120 s: {job_state}"
        time.sleep(0.05)
    for pid in pids.values():
        os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    _, at_kill, _ = job_progress(prod, job_id)
    assert 0 < at_kill < ROWS, f"the kill did not land mid-import: {at_kill} of {ROWS}"

    done_at = wait_until(lambda: job_progress(prod, job_id)[0] == "done", timeout=300, every=1)
    report = client.get(f"/api/imports/{job_id}").json()
    assert (report["processed"], report["created"], report["existing"]) == (ROWS, ROWS, 0)
    rows = prod.sql(
        "SELECT count(*), count(DISTINCT import_ref), "
        "min(split_part(import_ref, ':', 2)::int), max(split_part(import_ref, ':', 2)::int) "
        "FROM shortener.links WHERE 'killed' = ANY(tags)"
    )
    assert rows == f"{ROWS}|{ROWS}|1|{ROWS}"  # each row once: no duplicate, no gap
    events = prod.sql(
        "SELECT count(*) FROM shortener.link_events e JOIN shortener.links l "
        "ON l.id = e.link_id WHERE 'killed' = ANY(l.tags) AND e.kind = 'link.created'"
    )
    assert events == str(ROWS)
    record(
        "test_import_export.py (worker kill)",
        f"killed at {at_kill}/{ROWS} rows; done {done_at - killed_at:.0f} s after the kill",
    )


def api_memory(prod: Stack) -> dict[str, int]:
    """Each api replica's resident memory, in bytes: its process is PID 1 (uvicorn, one
    process; the image's CMD), read from /proc (the engine here has cgroup v1, whose
    files a container does not see)."""
    used = {}
    for api in replicas(prod, "api"):
        status = prod.exec_in(api, "cat", "/proc/1/status")
        (line,) = [line for line in status.splitlines() if line.startswith("VmRSS:")]
        used[api] = int(line.split()[1]) * 1024  # "VmRSS:   81234 kB"
    return used


def test_an_export_of_200000_links_streams_in_bounded_memory_with_the_first_link_fast(
    prod: Stack, client: httpx.Client
) -> None:
    made = client.post("/api/links", json={"url": "https://example.org/export", "tags": ["big"]})
    assert made.status_code == 201, made.text
    owner = prod.sql(
        "SELECT owner_id FROM shortener.links WHERE code = :'c'", c=made.json()["code"]
    )
    prod.sql(
        "INSERT INTO shortener.links (code, url, owner_id, tags) "
        "SELECT 'exp' || g, 'https://example.org/export/' || g, :'owner', ARRAY['big'] "
        "FROM generate_series(1, :'count'::int) AS g",
        owner=owner,
        count=str(EXPORTED - 1),
    )
    before = api_memory(prod)
    peak = dict(before)
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for api, used in api_memory(prod).items():
                peak[api] = max(peak.get(api, 0), used)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines = 0
    size = 0
    began = time.monotonic()
    first_row = None
    try:
        with client.stream(
            "GET", "/api/links/export", params={"tag": "big"}, timeout=120
        ) as response:
            assert response.status_code == 200
            assert response.headers.get("x-accel-buffering") is None  # nginx's own, not passed on
            for chunk in response.iter_bytes():
                lines += chunk.count(b"\n")
                if first_row is None and lines >= 2:  # the header is sent before the query
                    first_row = time.monotonic() - began
                size += len(chunk)
                time.sleep(0.0005)  # a client a little slower than the api: data waits somewhere
    finally:
        stop.set()
        sampler.join()
    total = time.monotonic() - began
    assert lines == EXPORTED + 1  # the header and every link
    growth = max(peak[api] - before[api] for api in before)
    assert first_row is not None and first_row < 1.0, f"first link after {first_row:.2f} s"
    assert growth < MEMORY_GROWTH_BOUND, f"an api replica grew by {growth / 2**20:.1f} MiB"
    record(
        "test_import_export.py (export)",
        f"{EXPORTED} links, {size / 2**20:.1f} MiB in {total:.1f} s; first link "
        f"{first_row * 1000:.0f} ms; api replica memory growth at most {growth / 2**20:.1f} MiB",
    )
