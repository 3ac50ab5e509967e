"""Connections to Postgres and Redis for the worker and its jobs.

RQ forks a work horse per job, so jobs open their own short-lived database connection
instead of sharing a pool across a fork. The settings are set once by the main process
(`use_settings`) and inherited by every fork.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from redis import Redis
from redis.backoff import NoBackoff
from redis.credentials import CredentialProvider
from redis.retry import Retry

from shortener_worker.settings import DatabaseSettings, SecretFile, WorkerSettings

_settings: WorkerSettings | None = None


def use_settings(settings: WorkerSettings) -> None:
    global _settings
    _settings = settings


def current_settings() -> WorkerSettings:
    if _settings is None:
        raise RuntimeError("worker settings not loaded: call use_settings() at startup")
    return _settings


def connect(
    settings: DatabaseSettings,
    *,
    application_name: str = "shortener-worker",
    connect_timeout: int = 5,
    autocommit: bool = False,
) -> psycopg.Connection:
    """A new connection; the password file is read again for each one (rotation needs no
    restart: docs/security.md, "Rotating secrets")."""
    return psycopg.connect(
        host=settings.database_host,
        port=settings.database_port,
        dbname=settings.database_name,
        user=settings.database_user,
        password=settings.database_password_file.get_secret_value(),
        application_name=application_name,
        connect_timeout=connect_timeout,
        autocommit=autocommit,
    )


@contextmanager
def database(
    settings: DatabaseSettings | None = None, connect_timeout: int = 5
) -> Iterator[psycopg.Connection]:
    """A connection for one unit of work; committed when the block ends without error."""
    with connect(settings or current_settings(), connect_timeout=connect_timeout) as conn:
        yield conn


class PasswordFromFile(CredentialProvider):
    """Redis' password, read from its file for each new connection."""

    def __init__(self, secret: SecretFile) -> None:
        self._secret = secret

    def get_credentials(self) -> tuple[str]:
        return (self._secret.get_secret_value(),)


def redis_connection(
    settings: WorkerSettings | None = None, socket_timeout: float | None = None
) -> Redis:
    settings = settings or current_settings()
    return Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        # Read from its file for each new connection: a rotated password applies without
        # a restart (settings.SecretFile).
        credential_provider=PasswordFromFile(settings.redis_password_file),
        client_name="shortener-worker",  # in Redis' CLIENT LIST
        socket_connect_timeout=2,
        # None by default: RQ's blocking dequeue sets its own per call. The metrics
        # server's client has one, so a stuck Redis cannot hold a scrape for ever.
        socket_timeout=socket_timeout,
        # One immediate retry, no backoff: RQ's own loop already waits and retries when
        # Redis is away, and the healthcheck must answer within its timeout.
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )
