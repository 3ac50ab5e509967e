"""Run the RQ worker (with its scheduler and a cron scheduler) and report its health.

The worker is built here rather than with `rq worker URL` so that the Redis password is
read from its secret file and never appears in a command line or the environment.
"""

import logging
import os
import secrets
import socket
import time
from datetime import UTC, datetime
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker, cron_scheduler_registry

from shortener_worker.metrics import CountingWorker, serve_metrics
from shortener_worker.schedule import run_cron
from shortener_worker.schema import schema_problem
from shortener_worker.settings import WorkerSettings

log = logging.getLogger(__name__)

# Where the running worker writes its RQ name, so the healthcheck can find its heartbeat.
NAME_FILE = Path(os.environ.get("WORKER_NAME_FILE", "/tmp/rq-worker-name"))  # noqa: S108
# RQ's cron scheduler beats at least once a minute (it sleeps at most 60 s); plus a margin.
CRON_HEARTBEAT_LIMIT_SECONDS = 70


def worker_name() -> str:
    # Unique per start: after a SIGKILL the old name stays registered in Redis until its
    # TTL runs out, and RQ refuses to start a second worker under a live name.
    return f"{socket.gethostname()}.{secrets.token_hex(3)}"


def build_worker(settings: WorkerSettings, connection: Redis) -> Worker:
    queues = [Queue(name, connection=connection) for name in settings.queues]
    # RQ's worker, counting each job's outcome in Redis for the metrics (metrics.py).
    return CountingWorker(
        queues, name=worker_name(), connection=connection, worker_ttl=settings.worker_ttl_seconds
    )


def cron_name(worker: str) -> str:
    """The cron scheduler's name: its worker's, so the healthcheck finds both."""
    return f"{worker}.cron"


def run(settings: WorkerSettings, connection: Redis) -> None:
    worker = build_worker(settings, connection)
    NAME_FILE.write_text(worker.name, encoding="utf-8")
    log.info("worker starting", extra={"worker": worker.name, "queues": settings.queues})
    cron = start_cron(settings, cron_name(worker.name))
    serve_metrics(settings)  # after the cron fork: a thread, which the fork need not copy
    try:
        # RQ handles SIGTERM itself: it finishes the current job (warm shutdown), then
        # returns. Its scheduler moves jobs enqueued for later (enqueue_in/at).
        # No logging_level: RQ would reset its loggers' levels over logs.py's.
        worker.work(with_scheduler=True)
    finally:
        stop_cron(cron)
        log.info("worker stopped", extra={"worker": worker.name})


def start_cron(settings: WorkerSettings, name: str) -> BaseProcess:
    """The cron scheduler (schedule.py) in a child process, as RQ runs its own scheduler:
    a process of its own because it sleeps and signals independently of the worker."""
    process = get_context("fork").Process(
        target=run_cron, args=(settings, name), name="cron", daemon=True
    )
    process.start()
    return process


def stop_cron(process: BaseProcess, timeout: float = 10) -> None:
    process.terminate()  # SIGTERM: RQ's cron loop stops and unregisters itself
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()


def heartbeat_age(connection: Redis, name: str) -> float | None:
    """Seconds since the named worker's last heartbeat, or None if Redis has none.

    Reads the worker's own hash, which every heartbeat rewrites, rather than RQ's set of
    workers: so health recovers by itself if Redis lost its data and the worker goes on.
    """
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + name, connection)
    if worker is None or worker.last_heartbeat is None:
        return None
    last = worker.last_heartbeat
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return (datetime.now(UTC) - last).total_seconds()


def cron_heartbeat_age(connection: Redis, name: str) -> float | None:
    """Seconds since the named cron scheduler's last loop, or None if Redis has none."""
    beat = connection.zscore(cron_scheduler_registry.get_registry_key(), name)
    return None if beat is None else time.time() - beat


def check_health(settings: WorkerSettings, connection: Redis) -> str | None:
    """None when healthy, else the reason. Tolerates RQ's idle heartbeat interval.

    The cron scheduler counts too: without it nothing would enqueue the ingestion; and so
    does the schema: a worker whose tables are not there yet must not look ready.
    """
    try:
        name = NAME_FILE.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return "worker has not started yet"
    problem = schema_problem(settings)
    if problem:
        return problem
    try:
        age = heartbeat_age(connection, name)
    except RedisError as error:
        return f"redis unreachable: {error}"
    if age is None:
        return f"worker {name} is not registered in redis"
    # While idle RQ beats every (ttl - 15) s; allow that plus a margin for a slow beat.
    limit = settings.worker_ttl_seconds + 10
    if age > limit:
        return f"last heartbeat {age:.0f} s ago (limit {limit} s)"
    cron = cron_name(name)
    try:
        cron_age = cron_heartbeat_age(connection, cron)
    except RedisError as error:
        return f"redis unreachable: {error}"
    if cron_age is None:
        return f"cron scheduler {cron} is not registered in redis"
    if cron_age > CRON_HEARTBEAT_LIMIT_SECONDS:
        return (
            f"cron scheduler's last heartbeat {cron_age:.0f} s ago"
            f" (limit {CRON_HEARTBEAT_LIMIT_SECONDS} s)"
        )
    return None
