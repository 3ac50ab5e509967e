"""Connections to the two backing services, built from settings.

One pool per process for Postgres; for Redis one client for the requests and one for the
click appends (another timeout, no retry), each with its own pool. Opened in the app's
lifespan and closed on shutdown, so a replica that stops drains cleanly.
"""

from dataclasses import dataclass

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.credentials import CredentialProvider
from redis.exceptions import ConnectionError as RedisConnectionError

from shortener.settings import DatabaseSettings, SecretFile, Settings

# The click appends' Redis connections, as CLIENT LIST names them.
CLICKS_CLIENT_NAME = "shortener-api-clicks"
# How long one reconnection schedule lasts before the pool gives up on it (see below).
RECONNECT_SECONDS = 5.0


def database_conninfo(settings: DatabaseSettings) -> str:
    """A libpq connection string; the password is passed separately, never logged."""
    return (
        f"host={settings.database_host} port={settings.database_port} "
        f"dbname={settings.database_name} user={settings.database_user} "
        f"application_name=shortener-api"
    )


def connect(settings: DatabaseSettings, application_name: str) -> psycopg.Connection:
    """One synchronous connection in autocommit mode, for the command-line jobs."""
    return psycopg.connect(
        host=settings.database_host,
        port=settings.database_port,
        dbname=settings.database_name,
        user=settings.database_user,
        password=settings.database_password_file.get_secret_value(),
        application_name=application_name,
        autocommit=True,
        connect_timeout=10,
    )


def create_database_pool(settings: Settings) -> AsyncConnectionPool:
    return AsyncConnectionPool(
        database_conninfo(settings),
        # A callable: the password file is read for each new connection, so a rotated
        # password applies without a restart (settings.SecretFile).
        kwargs=lambda: {
            "password": settings.database_password_file.get_secret_value(),
            "connect_timeout": max(1, round(settings.database_timeout_seconds)),
            "autocommit": True,
        },
        min_size=settings.database_pool_min,
        max_size=settings.database_pool_max,
        timeout=settings.database_timeout_seconds,
        # Check a connection before lending it out, so a restarted database costs one
        # failed check, not a failed request.
        check=AsyncConnectionPool.check_connection,
        # Opened in the lifespan without waiting: the API starts (and reports not ready)
        # even while the database is briefly away.
        open=False,
        # psycopg_pool re-tries a lost connection with a doubling delay (1, 2, 4, ... s) for
        # reconnect_timeout (5 min by default): after an outage of half a minute its next
        # attempt could come half a minute after Postgres is back (measured: creates still
        # failing 21 s after the database was healthy). Giving up after a few seconds ends
        # that schedule; the next request that needs a connection starts a fresh attempt
        # at once (tests/faults/test_database_faults.py).
        reconnect_timeout=RECONNECT_SECONDS,
        name="shortener-api",
    )


class PasswordFromFile(CredentialProvider):
    """Redis' password, read from its file for each new connection (a rotated password
    applies without a restart)."""

    def __init__(self, secret: SecretFile) -> None:
        self._secret = secret

    def get_credentials(self) -> tuple[str]:
        return (self._secret.get_secret_value(),)

    async def get_credentials_async(self) -> tuple[str]:
        return self.get_credentials()


def create_redis(
    settings: Settings, name: str, timeout: float | None = None, retries: int = 1
) -> Redis:
    timeout = timeout or settings.redis_timeout_seconds
    return Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        credential_provider=PasswordFromFile(settings.redis_password_file),
        # Named in Redis' CLIENT LIST: which client of which service a connection is.
        client_name=name,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        # Immediate retries on a connection error only (a connection dropped by a Redis
        # restart reconnects), no backoff, and none on a timeout: a Redis that hangs (no
        # answer, no reset) would otherwise cost each call two timeouts, and redirects must
        # not wait for that (tests/faults/test_cache_faults.py).
        retry=Retry(NoBackoff(), retries, supported_errors=(RedisConnectionError,)),
        decode_responses=True,
        health_check_interval=30,
    )


@dataclass(frozen=True)
class Backends:
    database: AsyncConnectionPool[AsyncConnection]
    cache: Redis
    # The click stream's appends: never retried (clicks/record.py), so never doubled.
    clicks: Redis

    @classmethod
    def from_settings(cls, settings: Settings) -> "Backends":
        return cls(
            database=create_database_pool(settings),
            cache=create_redis(settings, "shortener-api"),
            clicks=create_redis(
                settings, CLICKS_CLIENT_NAME, settings.click_append_timeout_seconds, retries=0
            ),
        )

    async def open(self) -> None:
        await self.database.open(wait=False)

    async def close(self) -> None:
        await self.database.close()
        await self.cache.aclose()
        await self.clicks.aclose()
