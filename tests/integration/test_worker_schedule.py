"""The recurring jobs (worker/shortener_worker/schedule.py): RQ's cron scheduler, one per
worker, and exactly one enqueue per tick however many workers run. Time is moved by hand
(the scheduler's clock and the jobs' next times), so nothing waits for minutes."""

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import rq.cron
from redis import Redis
from rq import Queue, cron_scheduler_registry
from rq.cron import CronJob, CronScheduler

from shortener_worker import backends, schedule
from shortener_worker.backends import redis_connection, use_settings
from shortener_worker.jobs import JOBS, ON_DEMAND
from shortener_worker.runner import start_cron, stop_cron
from shortener_worker.schedule import build_cron
from shortener_worker.settings import WorkerSettings
from tests.integration.rq_jobs import work_off

pytestmark = pytest.mark.integration

# Minutes from any cron time (also in a zone offset by 15-minute steps): within a few
# seconds of it, only the interval job comes due unless a test says otherwise.
T0 = datetime(2025, 3, 1, 3, 20, 0, tzinfo=UTC)


@pytest.fixture
def connection(worker_settings: WorkerSettings) -> Iterator[Redis]:
    with redis_connection(worker_settings) as connection:
        yield connection


@pytest.fixture
def queue(
    worker_settings: WorkerSettings, connection: Redis, monkeypatch: pytest.MonkeyPatch
) -> Queue:
    monkeypatch.setattr(backends, "_settings", None)
    use_settings(worker_settings)
    return Queue(worker_settings.queues[0], connection=connection)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The schedulers' "now", ours and RQ's loop's alike: tests set clock[0]."""
    current = [T0]
    monkeypatch.setattr(schedule, "now", lambda: current[0])
    monkeypatch.setattr(rq.cron, "now", lambda: current[0])
    return current


def queued(queue: Queue) -> Counter[str]:
    """How many jobs of each name wait in the queue."""
    names = {f"{func.__module__}.{func.__name__}": name for name, func in JOBS.items()}
    return Counter(names[job.func_name] for job in queue.get_jobs())


def job_named(scheduler: CronScheduler, name: str) -> CronJob:
    return next(job for job in scheduler.get_jobs() if job.name == name)


def due(scheduler: CronScheduler, name: str, at: datetime) -> None:
    """Make the named job due, as it would be once its next time has come."""
    job_named(scheduler, name).next_enqueue_time = at


def test_the_schedule_registers_every_job(
    worker_settings: WorkerSettings, connection: Redis
) -> None:
    jobs = {job.name: job for job in build_cron(worker_settings, connection).get_jobs()}

    assert set(jobs) == set(JOBS) - ON_DEMAND
    assert all(job.func is JOBS[name] for name, job in jobs.items())
    assert all(job.queue_name == worker_settings.queues[0] for job in jobs.values())
    ingest = jobs["ingest-clicks"]
    assert ingest.interval == worker_settings.click_ingest_interval_seconds == 1
    # A run may take its whole budget; the timeout leaves room beyond it.
    assert ingest.job_options["job_timeout"] > worker_settings.click_ingest_budget_seconds
    assert jobs["purge-expired-links"].cron == "0 * * * *"
    assert jobs["purge-old-clicks"].cron == "30 3 * * *"
    assert jobs["prune-history"].cron == "30 3 * * *"
    assert jobs["resume-imports"].cron == "* * * * *"


def test_three_workers_schedulers_enqueue_each_tick_once(
    worker_settings: WorkerSettings, connection: Redis, queue: Queue, clock: list[datetime]
) -> None:
    schedulers = [build_cron(worker_settings, connection) for _ in range(3)]

    # Started together: the interval job is due at once on each; one enqueue in all.
    for scheduler in schedulers:
        scheduler.enqueue_jobs()
    assert queued(queue) == {"ingest-clicks": 1}

    # 03:30: every cron job is due on every scheduler; again one enqueue each.
    work_off(queue)
    clock[0] = datetime(2025, 3, 1, 3, 30, 0, 1000, tzinfo=UTC)
    for scheduler in schedulers:
        due(scheduler, "purge-expired-links", clock[0].replace(microsecond=0))
        due(scheduler, "purge-old-clicks", clock[0].replace(microsecond=0))
        due(scheduler, "prune-history", clock[0].replace(microsecond=0))
        due(scheduler, "resume-imports", clock[0].replace(microsecond=0))
        due(scheduler, "ingest-clicks", clock[0])
    for scheduler in schedulers:
        scheduler.enqueue_jobs()

    assert queued(queue) == {
        "ingest-clicks": 1,
        "purge-expired-links": 1,
        "purge-old-clicks": 1,
        "prune-history": 1,
        "resume-imports": 1,
    }


def test_a_tick_passes_while_the_previous_run_still_waits(
    worker_settings: WorkerSettings, connection: Redis, queue: Queue, clock: list[datetime]
) -> None:
    scheduler = build_cron(worker_settings, connection)
    scheduler.enqueue_jobs()
    assert queued(queue) == {"ingest-clicks": 1}

    # The next tick, with the first run not started yet: no second run behind it.
    clock[0] = T0 + timedelta(seconds=1)
    due(scheduler, "ingest-clicks", clock[0])
    assert scheduler.enqueue_jobs() == []
    assert queued(queue) == {"ingest-clicks": 1}

    # Once it ran, the following tick enqueues again.
    work_off(queue)
    clock[0] = T0 + timedelta(seconds=2)
    due(scheduler, "ingest-clicks", clock[0])
    assert [job.name for job in scheduler.enqueue_jobs()] == ["ingest-clicks"]
    assert queued(queue) == {"ingest-clicks": 1}


def test_a_run_left_in_the_intermediate_queue_does_not_hold_up_the_ticks(
    worker_settings: WorkerSettings, connection: Redis, queue: Queue, clock: list[datetime]
) -> None:
    scheduler = build_cron(worker_settings, connection)
    [enqueued] = scheduler.enqueue_jobs()
    [run_id] = enqueued.get_job_ids(connection, 0, 0)
    # What a worker stopped in the middle of taking the run leaves behind: RQ's dequeue
    # has moved the id to the intermediate queue; the job's status still says queued.
    intermediate = queue.intermediate_queue_key
    assert connection.lmove(queue.key, intermediate, "RIGHT", "LEFT") == run_id.encode()
    assert queue.fetch_job(run_id).get_status() == "queued"

    clock[0] = T0 + timedelta(seconds=1)
    due(scheduler, "ingest-clicks", clock[0])
    assert [job.name for job in scheduler.enqueue_jobs()] == ["ingest-clicks"]
    assert queued(queue) == {"ingest-clicks": 1}


def test_the_cron_process_enqueues_and_stops_on_sigterm(
    worker_settings: WorkerSettings, connection: Redis, queue: Queue
) -> None:
    name = "test-worker.cron"
    registry = cron_scheduler_registry.get_registry_key()

    process = start_cron(worker_settings, name)
    try:
        deadline = time.monotonic() + 10
        while not (queued(queue)["ingest-clicks"] and connection.zscore(registry, name)):
            assert time.monotonic() < deadline, "the cron process enqueued nothing"
            time.sleep(0.1)
    finally:
        stop_cron(process)

    assert process.exitcode == 0  # stopped by its SIGTERM handler, not killed
    assert connection.zscore(registry, name) is None  # unregistered on the way out


def test_a_cron_scheduler_whose_worker_is_gone_stops(
    worker_settings: WorkerSettings, connection: Redis, queue: Queue
) -> None:
    # Its parent is not the worker it was started for (that one was SIGKILLed, say).
    orphan = build_cron(worker_settings, connection, "orphan.cron", parent_pid=os.getppid() + 1)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        orphan.start()  # returns instead of looping for ever
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)

    assert queued(queue) == {}
    assert connection.zscore(cron_scheduler_registry.get_registry_key(), "orphan.cron") is None
