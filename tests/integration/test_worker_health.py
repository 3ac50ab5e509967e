"""The worker container's healthcheck (`python -m shortener_worker health`): healthy only
while the worker named in its name file, and its cron scheduler, are registered in Redis
and heartbeating."""

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq import Worker, cron_scheduler_registry
from rq.cron import CronScheduler
from rq.utils import now, utcformat

from shortener_worker import runner
from shortener_worker.backends import redis_connection
from shortener_worker.runner import (
    CRON_HEARTBEAT_LIMIT_SECONDS,
    build_worker,
    check_health,
    cron_name,
)
from shortener_worker.settings import WorkerSettings
from tests.integration.containers import closed_port

pytestmark = pytest.mark.integration


@pytest.fixture
def name_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "rq-worker-name"
    monkeypatch.setattr(runner, "NAME_FILE", path)
    return path


@pytest.fixture
def connection(worker_settings: WorkerSettings) -> Iterator[Redis]:
    with redis_connection(worker_settings) as connection:
        yield connection


@pytest.fixture
def unscheduled_worker(
    worker_settings: WorkerSettings, connection: Redis, name_file: Path
) -> Worker:
    """A worker as `run` builds it, registered and named in the name file, not working;
    its cron scheduler not started."""
    worker = build_worker(worker_settings, connection)
    worker.register_birth()
    worker.heartbeat()
    name_file.write_text(worker.name, encoding="utf-8")
    return worker


@pytest.fixture
def worker(unscheduled_worker: Worker, connection: Redis) -> Worker:
    """The same with its cron scheduler registered, as `run` starts it."""
    CronScheduler(connection, name=cron_name(unscheduled_worker.name)).register_birth()
    return unscheduled_worker


def test_unhealthy_before_the_worker_started(
    worker_settings: WorkerSettings, connection: Redis, name_file: Path
) -> None:
    assert check_health(worker_settings, connection) == "worker has not started yet"


def test_unhealthy_when_the_named_worker_is_not_registered(
    worker_settings: WorkerSettings, connection: Redis, name_file: Path
) -> None:
    name_file.write_text("gone.abc123\n", encoding="utf-8")
    assert check_health(worker_settings, connection) == (
        "worker gone.abc123 is not registered in redis"
    )


def test_healthy_with_a_fresh_heartbeat(
    worker_settings: WorkerSettings, connection: Redis, worker: Worker
) -> None:
    assert check_health(worker_settings, connection) is None


def test_healthy_between_idle_heartbeats(
    worker_settings: WorkerSettings, connection: Redis, worker: Worker
) -> None:
    # An idle RQ worker beats every (ttl - 15) s: a beat that old is normal, not a fault.
    beat = now() - timedelta(seconds=worker_settings.worker_ttl_seconds - 15)
    connection.hset(worker.key, "last_heartbeat", utcformat(beat))
    assert check_health(worker_settings, connection) is None


def test_unhealthy_when_the_heartbeat_is_stale(
    worker_settings: WorkerSettings, connection: Redis, worker: Worker
) -> None:
    limit = worker_settings.worker_ttl_seconds + 10
    stale = now() - timedelta(seconds=limit + 30)
    connection.hset(worker.key, "last_heartbeat", utcformat(stale))

    reason = check_health(worker_settings, connection)

    assert reason is not None
    assert reason.startswith("last heartbeat")
    assert f"(limit {limit} s)" in reason


def test_unhealthy_without_its_cron_scheduler(
    worker_settings: WorkerSettings, connection: Redis, unscheduled_worker: Worker
) -> None:
    # Nothing would enqueue the ingestion: the container must not look healthy.
    assert check_health(worker_settings, connection) == (
        f"cron scheduler {unscheduled_worker.name}.cron is not registered in redis"
    )


def test_unhealthy_when_the_cron_schedulers_heartbeat_is_stale(
    worker_settings: WorkerSettings, connection: Redis, worker: Worker
) -> None:
    stale = time.time() - CRON_HEARTBEAT_LIMIT_SECONDS - 30
    connection.zadd(cron_scheduler_registry.get_registry_key(), {cron_name(worker.name): stale})

    reason = check_health(worker_settings, connection)

    assert reason is not None
    assert reason.startswith("cron scheduler's last heartbeat")
    assert f"(limit {CRON_HEARTBEAT_LIMIT_SECONDS} s)" in reason


def test_unhealthy_when_redis_is_unreachable(
    worker_settings: WorkerSettings, worker: Worker
) -> None:
    # The name file exists (the worker fixture), so the check gets as far as Redis.
    elsewhere = worker_settings.model_copy(update={"redis_port": closed_port()})
    with redis_connection(elsewhere) as unreachable:
        reason = check_health(elsewhere, unreachable)
    assert reason is not None
    assert reason.startswith("redis unreachable")
