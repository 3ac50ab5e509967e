"""Connections to Postgres and Redis for the worker and its jobs.

RQ forks a work horse per job, so jobs open their own short-lived database connection
instead of sharing a pool across a fork. The settings are set once by the main process
(`use_settings`) and inherited by every fork.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from redis import Redis

from shortener_worker.settings import WorkerSettings

_settings: WorkerSettings | None = None


def use_settings(settings: WorkerSettings) -> None:
    global _settings
    _settings = settings


def current_settings() -> WorkerSettings:
    if _settings is None:
        raise RuntimeError("worker settings not loaded: call use_settings() at startup")
    return _settings


@contextmanager
def database(settings: WorkerSettings | None = None) -> Iterator[psycopg.Connection]:
    """A connection for one unit of work; committed when the block ends without error."""
    settings = settings or current_settings()
    with psycopg.connect(
        host=settings.database_host,
        port=settings.database_port,
        dbname=settings.database_name,
        user=settings.database_user,
        password=settings.database_password_file.get_secret_value(),
        application_name="shortener-worker",
        connect_timeout=5,
    ) as conn:
        yield conn


def redis_connection(settings: WorkerSettings | None = None) -> Redis:
    settings = settings or current_settings()
    return Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        password=settings.redis_password_file.get_secret_value(),
        socket_connect_timeout=5,
        # Longer than RQ's blocking dequeue (worker_ttl - 15 s) would be wrong: RQ sets
        # its own timeouts per call, so leave the socket timeout unset here.
        health_check_interval=30,
    )
