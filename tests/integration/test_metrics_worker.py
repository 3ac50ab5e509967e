"""The worker's metrics (worker/shortener_worker/metrics.py) against real Redis and
Postgres: jobs run by an RQ worker in this process, then a scrape, as Prometheus makes it."""

import logging
import urllib.request
from collections.abc import Iterator

import psycopg
import pytest
import redis
from prometheus_client import CollectorRegistry
from rq import Queue, SimpleWorker
from rq.job import JobStatus

from shortener_worker.backends import redis_connection
from shortener_worker.clicks import stream
from shortener_worker.jobs import JOBS
from shortener_worker.metrics import CountJobOutcomes, metrics_registry, serve_metrics
from shortener_worker.settings import WorkerSettings
from tests.integration.containers import closed_port
from tests.integration.rq_jobs import work_off

pytestmark = pytest.mark.integration

NOW_MS = "1767225600000"  # 2026-01-01: inside the events' accepted range
RID = "feedfacefeedfacefeedfacefeedface"


class CountingSimpleWorker(CountJobOutcomes, SimpleWorker):
    """The production worker's counting, on RQ's worker that runs jobs in-process."""


@pytest.fixture
def registry(worker_settings: WorkerSettings) -> Iterator[CollectorRegistry]:
    with redis_connection(worker_settings) as connection:
        yield metrics_registry(connection, worker_settings)


def add_link(conn: psycopg.Connection, code: str) -> int:
    row = conn.execute(
        "INSERT INTO links (code, url) VALUES (%s, %s) RETURNING id", (code, "https://e.org/")
    ).fetchone()
    assert row is not None
    return row[0]


def click(link: int | str, rid: str = "") -> dict[str, str]:
    return {"link": str(link), "at": NOW_MS, "ref": "", "ua": "", "bot": "0", "rid": rid}


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_a_scrape_shows_the_backlog_before_ingestion_and_the_counts_after(
    queue: Queue, registry: CollectorRegistry, owner_db: psycopg.Connection, cache: redis.Redis
) -> None:
    link = add_link(owner_db, "metered")
    for _ in range(5):
        cache.xadd(stream.STREAM, click(link))
    cache.xadd(stream.STREAM, click("not-a-number"))

    # No run yet: six entries, no group, so all six undelivered.
    assert sample(registry, "shortener_worker_redis_up") == 1
    assert sample(registry, "shortener_worker_click_stream_entries") == 6
    assert sample(registry, "shortener_worker_click_stream_lag") == 6
    assert sample(registry, "shortener_worker_click_stream_pending") == 0
    assert sample(registry, "shortener_worker_click_stream_oldest_age_seconds") >= 0
    assert sample(registry, "shortener_worker_click_dead_letters") == 0
    for outcome in ("succeeded", "failed"):
        assert (
            sample(registry, "shortener_worker_jobs_total", job="ingest-clicks", outcome=outcome)
            == 0
        )

    ingest = queue.enqueue(JOBS["ingest-clicks"])
    broken = queue.enqueue(JOBS["purge-expired-links"], grace_seconds="not a number")
    queued = sample(registry, "shortener_worker_queue_jobs", queue=queue.name, state="queued")
    assert queued == 2
    work_off(queue, CountingSimpleWorker)
    assert ingest.get_status() == JobStatus.FINISHED
    assert broken.get_status() == JobStatus.FAILED

    def events(outcome: str) -> float | None:
        return sample(registry, "shortener_worker_click_events_total", outcome=outcome)

    assert events("ingested") == 5
    assert events("dead_lettered") == 1
    assert events("duplicates") == 0
    assert events("orphans") == 0
    assert sample(registry, "shortener_worker_click_dead_letters") == 1
    # Drained and trimmed: nothing waits.
    assert sample(registry, "shortener_worker_click_stream_entries") == 0
    assert sample(registry, "shortener_worker_click_stream_lag") == 0
    assert sample(registry, "shortener_worker_click_stream_pending") == 0
    assert sample(registry, "shortener_worker_click_stream_oldest_age_seconds") == 0

    def runs(job: str, outcome: str) -> float | None:
        return sample(registry, "shortener_worker_jobs_total", job=job, outcome=outcome)

    assert runs("ingest-clicks", "succeeded") == 1
    assert runs("ingest-clicks", "failed") == 0
    # The run's own account: its six entries (every outcome) and its wall time, together.
    assert sample(registry, "shortener_worker_click_ingest_runs_total") == 1
    assert sample(registry, "shortener_worker_click_ingest_entries_total") == 6
    seconds = sample(registry, "shortener_worker_click_ingest_seconds_total")
    assert seconds is not None and 0 < seconds < 30
    assert runs("purge-expired-links", "failed") == 1
    assert runs("purge-old-clicks", "succeeded") == 0  # every job listed, counted or not
    assert sample(registry, "shortener_worker_queue_jobs", queue=queue.name, state="queued") == 0
    assert sample(registry, "shortener_worker_queue_jobs", queue=queue.name, state="failed") == 1


def test_counts_are_totals_across_runs_and_workers(
    queue: Queue, registry: CollectorRegistry, owner_db: psycopg.Connection, cache: redis.Redis
) -> None:
    link = add_link(owner_db, "twice")
    for round_ in range(2):
        cache.xadd(stream.STREAM, click(link))
        queue.enqueue(JOBS["ingest-clicks"])
        work_off(queue, CountingSimpleWorker)  # a worker of its own each round, as a work horse is
        assert sample(registry, "shortener_worker_click_events_total", outcome="ingested") == (
            round_ + 1
        )
    runs = sample(registry, "shortener_worker_jobs_total", job="ingest-clicks", outcome="succeeded")
    assert runs == 2
    assert sample(registry, "shortener_worker_click_ingest_runs_total") == 2
    assert sample(registry, "shortener_worker_click_ingest_entries_total") == 2


def test_runs_that_find_nothing_add_no_time(
    queue: Queue, registry: CollectorRegistry, owner_db: psycopg.Connection, cache: redis.Redis
) -> None:
    """An idle worker runs every second: its empty runs must not dilute the rate."""
    cache.xadd(stream.STREAM, click(add_link(owner_db, "once")))
    queue.enqueue(JOBS["ingest-clicks"])
    work_off(queue, CountingSimpleWorker)
    seconds = sample(registry, "shortener_worker_click_ingest_seconds_total")
    assert sample(registry, "shortener_worker_click_ingest_runs_total") == 1

    for _ in range(2):
        queue.enqueue(JOBS["ingest-clicks"])
    work_off(queue, CountingSimpleWorker)
    runs = sample(registry, "shortener_worker_jobs_total", job="ingest-clicks", outcome="succeeded")
    assert runs == 3
    assert sample(registry, "shortener_worker_click_ingest_runs_total") == 1
    assert sample(registry, "shortener_worker_click_ingest_seconds_total") == seconds
    assert sample(registry, "shortener_worker_click_ingest_entries_total") == 1


def test_the_oldest_entrys_age_is_how_far_ingestion_is_behind(
    registry: CollectorRegistry, cache: redis.Redis
) -> None:
    seconds, _ = cache.time()
    cache.xadd(stream.STREAM, click(1), id=f"{(seconds - 90) * 1000}-0")
    cache.xadd(stream.STREAM, click(1))
    age = sample(registry, "shortener_worker_click_stream_oldest_age_seconds")
    assert age is not None and 89 <= age < 120


def test_the_http_endpoint_serves_them(worker_settings: WorkerSettings) -> None:
    port = closed_port()
    server = serve_metrics(worker_settings.model_copy(update={"metrics_port": port}))
    assert server is not None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert "shortener_worker_redis_up 1.0" in text
    assert 'shortener_worker_jobs_total{job="ingest-clicks",outcome="succeeded"}' in text
    assert "shortener_worker_click_ingest_seconds_total 0.0" in text
    # A registry of its own: not the scraping process's CPU and memory.
    assert "process_cpu_seconds_total" not in text


def test_port_zero_serves_nothing(worker_settings: WorkerSettings) -> None:
    assert serve_metrics(worker_settings.model_copy(update={"metrics_port": 0})) is None


def test_without_redis_a_scrape_says_so_and_nothing_else(
    worker_settings: WorkerSettings,
) -> None:
    settings = worker_settings.model_copy(update={"redis_port": closed_port()})
    with redis_connection(settings) as connection:
        registry = metrics_registry(connection, settings)
        assert sample(registry, "shortener_worker_redis_up") == 0
        assert sample(registry, "shortener_worker_click_stream_entries") is None


def test_without_the_backup_status_a_scrape_says_so_and_keeps_the_rest(
    registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    # This tier's Postgres is the plain image: no pgBackRest, no backups.repository_info()
    # (the backups tier scrapes the real one: tests/backups/test_backup_metrics.py).
    with caplog.at_level(logging.WARNING, logger="shortener_worker.backup_metrics"):
        assert sample(registry, "shortener_backup_status_up") == 0
    assert sample(registry, "shortener_backup_repository_ok") is None
    assert sample(registry, "shortener_worker_redis_up") == 1
    assert "backup status unreadable" in caplog.text


def test_dead_letters_are_logged_with_their_request_ids(
    queue: Queue, cache: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    # The link field is malformed: a dead letter, whose request id leads to the api's and
    # nginx's log lines of the redirect that made it.
    cache.xadd(stream.STREAM, click("x", rid=RID))
    queue.enqueue(JOBS["ingest-clicks"])
    with caplog.at_level(logging.WARNING, logger="shortener_worker.clicks.ingest"):
        work_off(queue, CountingSimpleWorker)
    [record] = [r for r in caplog.records if r.name == "shortener_worker.clicks.ingest"]
    assert record.getMessage() == "dead-lettered malformed click events"
    assert record.count == 1
    assert record.letters == [
        {
            "stream_id": record.letters[0]["stream_id"],
            "request_id": RID,
            "reason": "field link is not a positive integer",
        }
    ]
