"""The worker's Prometheus metrics, read from Redis when scraped (GET :9100/metrics).

RQ runs each job in a work horse, a fork that exits when the job ends: a counter kept in
its memory would die with it. So what jobs do is counted in Redis (the job outcomes here,
by the worker; the clicks by the ingestion job, clicks/tally.py), and a scrape reads the
totals, the click streams and RQ's queues from Redis at that moment. Nothing is kept in
the process, so the server can run beside the RQ loop in the worker's main process.

Every number is the system's, not this replica's: with several workers, each serves the
same values (aggregate with max, not sum). Reachable on the backend network only (the
worker is on no other); `make metrics` prints them.

shortener_worker_jobs_total{job, outcome}     runs succeeded / failed, by job name
shortener_worker_click_events_total{outcome}  ingested, duplicates, orphans, dead_lettered
shortener_worker_click_ingest_runs_total      ingestion runs that found entries
shortener_worker_click_ingest_seconds_total   their wall time, by the work horse's clock
shortener_worker_click_ingest_entries_total   their entries, added with their seconds
shortener_worker_click_stream_entries         entries in clicks:stream: not yet ingested
shortener_worker_click_stream_pending         delivered to a consumer, not yet acked
shortener_worker_click_stream_lag             not yet delivered to the group
shortener_worker_click_stream_oldest_age_seconds  the oldest entry's age: ingestion delay
shortener_worker_click_dead_letters           entries in clicks:dead
shortener_worker_queue_jobs{queue, state}     RQ jobs queued, started, scheduled, failed
shortener_worker_redis_up                     1 if this scrape could read Redis
shortener_backup_*                            the database's backups (backup_metrics.py)
"""

import logging
from collections.abc import Iterable, Sequence
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from shortener_worker.backends import redis_connection
from shortener_worker.backup_metrics import BackupCollector
from shortener_worker.bounded import BoundedRead
from shortener_worker.clicks import stream, tally
from shortener_worker.jobs import JOBS
from shortener_worker.settings import WorkerSettings

log = logging.getLogger(__name__)

JOB_OUTCOMES = "shortener:metrics:jobs"  # hash: "<job>:<outcome>" -> runs
OUTCOMES = ("succeeded", "failed")
OTHER_JOB = "other"  # a function not in JOBS: one label for all of them
# The function's import path, as RQ stores it, -> the job's name in JOBS.
JOB_NAMES = {
    f"{function.__module__}.{function.__qualname__}": name for name, function in JOBS.items()
}
# Scrapes wait this long for Redis at most (a read, or a name lookup: bounded.py); with
# the backups' wait, well within Prometheus' own timeout (10 s by default).
SCRAPE_REDIS_TIMEOUT_SECONDS = 3


def job_name(job: Job) -> str:
    try:
        return JOB_NAMES.get(job.func_name, OTHER_JOB)
    except Exception:  # a job whose data cannot be read: still one run
        return OTHER_JOB


def count_job_outcome(connection: Redis, job: Job, outcome: str) -> None:
    """One more run of the job with `outcome`; a Redis failure is logged, not raised: the
    job's own outcome is already recorded by RQ and must not change because of a metric."""
    try:
        connection.hincrby(JOB_OUTCOMES, f"{job_name(job)}:{outcome}", 1)
    except RedisError as error:
        log.warning("job outcome not counted", extra={"job": job.id, "error": str(error)})


class CountJobOutcomes:
    """For an RQ worker class: counts each job's outcome in Redis, after RQ has stored it.

    RQ calls handle_job_success in the work horse, and handle_job_failure there too or, when
    the horse died (killed, out of memory, past its timeout), in the worker itself: so every
    run is counted once, whichever process finishes it.
    """

    connection: Redis

    def handle_job_success(self, job: Job, *args: Any, **kwargs: Any) -> None:
        super().handle_job_success(job, *args, **kwargs)  # type: ignore[misc]
        count_job_outcome(self.connection, job, "succeeded")

    def handle_job_failure(self, job: Job, *args: Any, **kwargs: Any) -> None:
        super().handle_job_failure(job, *args, **kwargs)  # type: ignore[misc]
        count_job_outcome(self.connection, job, "failed")


class CountingWorker(CountJobOutcomes, Worker):
    """RQ's forking worker, counting job outcomes (runner.py builds this one)."""


class RedisCollector:
    """A prometheus_client collector: everything in one pipelined round trip per scrape,
    a dozen cheap commands (lengths, counts, three small hashes)."""

    def __init__(self, connection: Redis, queues: Sequence[str]) -> None:
        self._connection = connection
        self._bounded_read = BoundedRead(self._read, SCRAPE_REDIS_TIMEOUT_SECONDS, "metrics-redis")
        # (queue, state, key): a list's length for the queue, a sorted set's for the rest.
        self._queue_keys = [
            (name, state, key)
            for name in queues
            for state, key in (
                ("queued", Queue(name, connection=connection).key),
                ("started", StartedJobRegistry(name, connection).key),
                ("scheduled", ScheduledJobRegistry(name, connection).key),
                ("failed", FailedJobRegistry(name, connection).key),
            )
        ]

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "shortener_worker_redis_up", "1 if this scrape could read Redis, else 0."
        )
        try:
            readings = self._bounded_read()
        except (RedisError, TimeoutError) as error:
            log.warning("metrics: Redis unreadable", extra={"error": repr(error)})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from readings

    def _read(self) -> list[Metric]:
        pipe = self._connection.pipeline(transaction=False)
        pipe.time()  # Redis' clock, which made the entry ids: the oldest entry's age
        pipe.hgetall(JOB_OUTCOMES)
        pipe.hgetall(tally.KEY)
        pipe.hgetall(tally.RUNS_KEY)
        pipe.xlen(stream.STREAM)
        pipe.xlen(stream.DEAD_LETTERS)
        pipe.xrange(stream.STREAM, count=1)
        for _, state, key in self._queue_keys:
            pipe.llen(key) if state == "queued" else pipe.zcard(key)
        pipe.xinfo_groups(stream.STREAM)  # last: an error until the first run made the stream
        *replies, groups = pipe.execute(raise_on_error=False)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply if isinstance(reply, RedisError) else RedisError(str(reply))
        now, jobs, clicks, ingest_runs, entries, dead, oldest, *queue_counts = replies
        group = ingest_group(groups)

        runs = CounterMetricFamily(
            "shortener_worker_jobs",
            "Job runs finished, by job name and outcome (succeeded or failed), all workers.",
            labels=["job", "outcome"],
        )
        counted = {key.decode(): int(value) for key, value in jobs.items()}
        for name in sorted({*JOBS, *(key.rpartition(":")[0] for key in counted)}):
            for outcome in OUTCOMES:
                runs.add_metric([name, outcome], counted.get(f"{name}:{outcome}", 0))

        events = CounterMetricFamily(
            "shortener_worker_click_events",
            "Click stream entries ingestion has dealt with, by outcome: ingested (stored and "
            "counted), duplicates (stored before), orphans (link deleted), dead_lettered.",
            labels=["outcome"],
        )
        totals = {key.decode(): int(value) for key, value in clicks.items()}
        for outcome in tally.OUTCOMES:
            events.add_metric([outcome], totals.get(outcome, 0))
        run_totals = {key.decode(): float(value) for key, value in ingest_runs.items()}

        seconds, microseconds = now
        oldest_age = 0.0
        if oldest:
            oldest_ms = int(oldest[0][0].partition(b"-")[0])
            oldest_age = max(0.0, seconds + microseconds / 1e6 - oldest_ms / 1000)

        queue_jobs = GaugeMetricFamily(
            "shortener_worker_queue_jobs",
            "RQ jobs by queue and state: queued, started (running), scheduled (for later), "
            "failed (kept for their failure TTL).",
            labels=["queue", "state"],
        )
        for (name, state, _), count in zip(self._queue_keys, queue_counts, strict=True):
            queue_jobs.add_metric([name, state], count)

        metrics: list[Metric] = [
            runs,
            events,
            # Written together at the end of each run (tally.add_run): entries / seconds
            # between two scrapes is the rate of the runs that ended in between.
            CounterMetricFamily(
                "shortener_worker_click_ingest_runs",
                "Ingestion runs that found entries (empty runs are not counted), all workers.",
                value=run_totals.get("runs", 0),
            ),
            CounterMetricFamily(
                "shortener_worker_click_ingest_seconds",
                "Wall time of those runs, connections included, by the clock of the process "
                "that ran each.",
                value=run_totals.get("seconds", 0),
            ),
            CounterMetricFamily(
                "shortener_worker_click_ingest_entries",
                "Entries those runs dealt with (every outcome), added with their seconds.",
                value=run_totals.get("entries", 0),
            ),
            GaugeMetricFamily(
                "shortener_worker_click_stream_entries",
                f"Entries in {stream.STREAM}: clicks not yet ingested, and pending ones.",
                value=entries,
            ),
            GaugeMetricFamily(
                "shortener_worker_click_stream_pending",
                f"Entries delivered to a consumer of group {stream.GROUP}, not yet acked.",
                value=group["pending"] if group else 0,
            ),
            GaugeMetricFamily(
                "shortener_worker_click_stream_oldest_age_seconds",
                "Age of the oldest entry in the stream, 0 when empty: how far ingestion is "
                "behind (the stream is trimmed after each run: about a second at rest).",
                value=oldest_age,
            ),
            GaugeMetricFamily(
                "shortener_worker_click_dead_letters",
                f"Click events ingestion gave up on, kept in {stream.DEAD_LETTERS}.",
                value=dead,
            ),
            queue_jobs,
        ]
        # No group yet: every entry is undelivered. Redis answers no lag when it cannot
        # tell (entries deleted from the middle of the stream): then none is reported.
        lag = group["lag"] if group else entries
        if lag is not None:
            metrics.append(
                GaugeMetricFamily(
                    "shortener_worker_click_stream_lag",
                    f"Entries not yet delivered to group {stream.GROUP}.",
                    value=lag,
                )
            )
        return metrics


def ingest_group(groups: object) -> dict[str, Any] | None:
    """The ingestion group's entry in XINFO GROUPS' reply (an error: no stream yet)."""
    if not isinstance(groups, list):
        return None
    for group in groups:
        name = group["name"]
        if (name.decode() if isinstance(name, bytes) else name) == stream.GROUP:
            return group
    return None


def metrics_registry(connection: Redis, settings: WorkerSettings) -> CollectorRegistry:
    """A registry of its own: the default one would add this process's CPU and memory,
    which say nothing about the work horses that do the jobs."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(connection, settings.queues))
    registry.register(BackupCollector(settings))
    return registry


def serve_metrics(settings: WorkerSettings) -> WSGIServer | None:
    """Serve /metrics on settings.metrics_port from a daemon thread of this process; the
    server, to shut down (tests), or None when the port is 0."""
    if not settings.metrics_port:
        return None
    connection = redis_connection(settings, socket_timeout=SCRAPE_REDIS_TIMEOUT_SECONDS)
    # All interfaces of the container: its only network is the internal backend one.
    server, _ = start_http_server(
        settings.metrics_port,
        addr="0.0.0.0",  # noqa: S104
        registry=metrics_registry(connection, settings),
    )
    log.info("metrics served", extra={"port": settings.metrics_port})
    return server
