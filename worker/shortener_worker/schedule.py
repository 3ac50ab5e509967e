"""The recurring jobs, enqueued by RQ's own cron scheduler (`rq.cron.CronScheduler`).

Each worker container runs one cron scheduler beside its RQ worker (runner.py). RQ's
CronScheduler takes no lock between instances: with three workers, each would enqueue
every job at every tick. `SharedCronScheduler` therefore claims each tick in Redis first
(SET NX on a key naming the job and its tick), so however many workers run, each tick is
enqueued exactly once. It also lets a tick pass while the job's previous run is still
waiting in the queue: a backlog keeps the workers busy without piling up runs. Both
checks run before RQ's own loop, which then enqueues what is still due.

| job                 | when                          | why                                   |
|---------------------|-------------------------------|---------------------------------------|
| ingest-clicks       | every CLICK_INGEST_INTERVAL_SECONDS (1 s) | stats within seconds      |
| purge-expired-links | hourly, at minute 0           | expired links out of the way          |
| purge-old-clicks    | daily, 03:30 (container time, UTC) | raw clicks past CLICK_RETENTION_DAYS |
| prune-history       | daily, 03:30 (UTC)            | history past HISTORY_RETENTION_DAYS   |
| resume-imports      | every minute                  | an import whose worker died goes on   |
"""

import logging
import os
import signal
import time
from contextlib import suppress
from datetime import datetime
from types import FrameType

from redis import Redis
from rq import Queue, cron_scheduler_registry
from rq.cron import CronJob, CronScheduler
from rq.exceptions import SchedulerNotFound, StopRequested
from rq.utils import now

from shortener_worker.backends import redis_connection
from shortener_worker.jobs import JOBS
from shortener_worker.settings import WorkerSettings

log = logging.getLogger(__name__)

HOURLY = "0 * * * *"
DAILY = "30 3 * * *"
EVERY_MINUTE = "* * * * *"
# Cleanup jobs may meet big tables; ingestion runs are bounded by their budget.
CLEANUP_TIMEOUT_SECONDS = 3600
# A failed run is kept this long (RQ's default is a year): with a run per second, an
# outage of the database would otherwise fill Redis with failed ingestion jobs.
INGEST_FAILURE_TTL_SECONDS = 3600
INGEST_RESULT_TTL_SECONDS = 60
# After an error (Redis away), the cron scheduler starts again after this pause.
RESTART_DELAY_SECONDS = 5


def register_jobs(scheduler: CronScheduler, settings: WorkerSettings) -> None:
    queue = settings.queues[0]
    scheduler.register(
        JOBS["ingest-clicks"],
        queue,
        interval=settings.click_ingest_interval_seconds,
        job_timeout=int(settings.click_ingest_budget_seconds) + 60,
        result_ttl=INGEST_RESULT_TTL_SECONDS,
        failure_ttl=INGEST_FAILURE_TTL_SECONDS,
        name="ingest-clicks",
    )
    scheduler.register(
        JOBS["purge-expired-links"],
        queue,
        cron=HOURLY,
        job_timeout=CLEANUP_TIMEOUT_SECONDS,
        name="purge-expired-links",
    )
    scheduler.register(
        JOBS["purge-old-clicks"],
        queue,
        cron=DAILY,
        job_timeout=CLEANUP_TIMEOUT_SECONDS,
        name="purge-old-clicks",
    )
    scheduler.register(
        JOBS["prune-history"],
        queue,
        cron=DAILY,
        job_timeout=CLEANUP_TIMEOUT_SECONDS,
        name="prune-history",
    )
    scheduler.register(
        JOBS["resume-imports"],
        queue,
        cron=EVERY_MINUTE,
        job_timeout=60,
        result_ttl=INGEST_RESULT_TTL_SECONDS,
        failure_ttl=INGEST_FAILURE_TTL_SECONDS,
        name="resume-imports",
    )


class SharedCronScheduler(CronScheduler):
    """RQ's CronScheduler, safe to run on every worker: one enqueue per tick in all."""

    # The worker process this scheduler serves: it stops when that one is gone (killed
    # with SIGKILL, say), rather than scheduling jobs for a worker that no longer runs.
    parent_pid: int | None = None

    def enqueue_jobs(self) -> list[CronJob]:
        """RQ's own loop, which enqueues every job whose `should_run()` is true, after
        passing the ticks this scheduler must not enqueue: a tick is passed with
        `set_enqueue_time`, as RQ's loop does after an enqueue, so the job's next time
        moves on and RQ's loop finds it not due. (RQ has no hook between "due" and
        "enqueue"; this keeps its loop instead of a copy.) All due ticks are claimed
        before the first enqueue: an enqueue that fails (Redis away) loses every tick
        claimed in this pass, not only its own.
        """
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            raise StopRequested()
        pass_time = now()
        for job in self.get_jobs():
            if not job.should_run():
                continue
            if self.previous_run_waiting(job) or not self.claim_tick(job, pass_time):
                job.set_enqueue_time(pass_time)
        return super().enqueue_jobs()

    def claim_tick(self, job: CronJob, enqueue_time: datetime) -> bool:
        """True for the first scheduler (of all workers) to ask for this job's tick.

        A tick is the interval's slot of the epoch (`t // interval`), or the cron time
        itself, which every scheduler computes alike. Clocks are the host's (NTP).
        """
        if job.interval:
            tick = int(enqueue_time.timestamp() // job.interval)
            ttl = job.interval + 60
        else:
            assert job.next_enqueue_time is not None  # always set for cron strings
            tick = int(job.next_enqueue_time.timestamp())
            ttl = 24 * 3600
        key = f"shortener:cron-tick:{job.name}:{tick}"
        return bool(self.connection.set(key, self.name, nx=True, ex=ttl))

    def previous_run_waiting(self, job: CronJob) -> bool:
        """True while the last job this cron job spawned is still in its queue.

        The queue itself is asked, not the job's status: a worker stopped or killed in
        the middle of taking a job leaves it in RQ's intermediate queue, still "queued",
        until RQ's maintenance (every 10 minutes) finds it. Trusting the status held up
        every tick, and so click ingestion, that long (seen in the e2e tier: a worker
        stopped by `compose stop` just as it took a run).
        """
        latest = job.get_job_ids(self.connection, 0, 0)
        if not latest:
            return False
        queue = Queue(job.queue_name, connection=self.connection)
        return queue.get_job_position(latest[0]) is not None


def build_cron(
    settings: WorkerSettings, connection: Redis, name: str = "", parent_pid: int | None = None
) -> CronScheduler:
    scheduler = SharedCronScheduler(connection, logging_level=settings.log_level, name=name)
    scheduler.parent_pid = parent_pid
    register_jobs(scheduler, settings)
    return scheduler


def run_cron(settings: WorkerSettings, name: str) -> None:
    """The cron scheduler's process (runner.py starts it): RQ's loop until SIGTERM or
    SIGINT, started again after an error, so a Redis outage does not end the schedule."""
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    worker_pid = os.getppid()
    try:
        while os.getppid() == worker_pid:
            try:
                connection = redis_connection(settings)
                scheduler = build_cron(settings, connection, name, parent_pid=worker_pid)
                # A name left registered by a run that failed must not refuse this birth.
                # RQ's registry refuses a known name (DuplicateSchedulerError), though rq
                # 3.0.0 does not check inside register_birth's pipeline.
                with suppress(SchedulerNotFound):
                    cron_scheduler_registry.unregister(scheduler)
                scheduler.start()
                return  # start() returns once a stop was requested
            except StopRequested:
                return
            except Exception:
                log.exception("cron scheduler failed; starting again", extra={"scheduler": name})
            time.sleep(RESTART_DELAY_SECONDS)
    except StopRequested:
        return


def _stop(signum: int, frame: FrameType | None) -> None:
    raise StopRequested()
