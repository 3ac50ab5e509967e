"""Session fixtures: one Postgres and one Redis container (see containers.py), migrated
once by the real runner; function fixtures: clean state, connections, settings, the app.

Ryuk (testcontainers' reaper) is disabled on our machines, so the fixtures remove their
containers themselves, also when startup or a test fails.
"""

import secrets
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
from psycopg import sql
from rq import Queue

from shortener.app import create_app
from shortener.keys.store import create_key
from shortener.migrate.files import DEFAULT_DIRECTORY, Migration, read_migrations
from shortener.migrate.runner import apply_migrations
from shortener.settings import Settings, load_settings
from shortener_worker import backends as worker_backends
from shortener_worker.settings import WorkerSettings
from shortener_worker.settings import load_settings as load_worker_settings
from tests.integration.containers import (
    APP,
    DATABASE,
    OWNER,
    PUBLIC_BASE_URL,
    REPO,
    SUPERUSER,
    Postgres,
    RedisServer,
    postgres_container,
    redis_container,
    wait_until_ready,
)


@pytest.fixture(scope="session")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The project's own script, so the files have the modes compose relies on: 0644 in a
    # 0700 folder; the containers' uid 999 reads them through the bind mounts.
    directory = tmp_path_factory.mktemp("secrets")
    subprocess.run([REPO / "scripts" / "secrets.sh", directory], check=True, capture_output=True)
    return directory


@pytest.fixture(scope="session")
def postgres(secrets_dir: Path) -> Iterator[Postgres]:
    # `with`: the container is removed on exit, also when start() or the wait fails.
    with postgres_container(secrets_dir) as container:

        def ready() -> Postgres:
            server = Postgres(
                container.get_container_host_ip(),
                int(container.get_exposed_port(5432)),
                secrets_dir,
            )
            # The app role over TCP: the first-boot server listens on its socket only, so
            # this succeeds once init-db has created the roles and the real server is up.
            server.connect(APP).close()
            return server

        yield wait_until_ready(container, "postgres", ready)


@pytest.fixture(scope="session")
def redis_server(secrets_dir: Path) -> Iterator[RedisServer]:
    with redis_container(secrets_dir) as container:

        def ready() -> RedisServer:
            server = RedisServer(
                container.get_container_host_ip(),
                int(container.get_exposed_port(6379)),
                secrets_dir / "redis_password",
            )
            # With the password: proves the ACL file was read, not just that a port is open.
            with server.client() as client:
                client.ping()
            return server

        yield wait_until_ready(container, "redis", ready)


@pytest.fixture(scope="session")
def schema(postgres: Postgres) -> list[Migration]:
    """The real migrations, applied once by the real runner as the schema owner."""
    migrations = read_migrations(DEFAULT_DIRECTORY)
    with postgres.connect(OWNER) as conn:
        apply_migrations(conn, migrations)
    return migrations


@pytest.fixture(autouse=True)
def clean_state(schema: list[Migration], postgres: Postgres, redis_server: RedisServer) -> None:
    # Before each test rather than after, so a test that failed half-way cannot leak into
    # the next. TRUNCATE as the owner: the app role has no TRUNCATE right, by design.
    with postgres.connect(OWNER) as conn:
        conn.execute("TRUNCATE links, api_keys, link_events RESTART IDENTITY CASCADE")
    with redis_server.client() as client:
        client.flushall()


@pytest.fixture
def scratch_database(postgres: Postgres) -> Iterator[str]:
    """An empty database owned by the owner role, dropped after: for runs that start fresh."""
    name = f"scratch_{secrets.token_hex(4)}"
    with postgres.connect(SUPERUSER, "postgres") as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(OWNER)
            )
        )
        try:
            yield name
        finally:
            # FORCE: a runner that failed mid-test may still hold a session.
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def owner_db(postgres: Postgres) -> Iterator[psycopg.Connection]:
    with postgres.connect(OWNER) as conn:
        yield conn


@pytest.fixture
def app_db(postgres: Postgres) -> Iterator[psycopg.Connection]:
    with postgres.connect(APP) as conn:
        yield conn


@pytest.fixture
def cache(redis_server: RedisServer) -> Iterator[redis.Redis]:
    with redis_server.client() as client:
        yield client


@pytest.fixture(scope="session")
def make_api_settings(postgres: Postgres, redis_server: RedisServer) -> Callable[..., Settings]:
    """API settings as the app role, as compose sets them; keywords override any field."""

    def make(**overrides: object) -> Settings:
        fields: dict[str, object] = {
            "database_host": postgres.host,
            "database_port": postgres.port,
            "database_name": DATABASE,
            "database_user": APP,
            "database_password_file": postgres.password_file(APP),
            "redis_host": redis_server.host,
            "redis_port": redis_server.port,
            "redis_password_file": redis_server.password_file,
            "public_base_url": PUBLIC_BASE_URL,
        }
        return load_settings(Settings, **(fields | overrides))

    return make


@pytest.fixture(scope="session")
def api_settings(make_api_settings: Callable[..., Settings]) -> Settings:
    return make_api_settings()


@pytest.fixture(scope="session")
def worker_settings(postgres: Postgres, redis_server: RedisServer) -> WorkerSettings:
    return load_worker_settings(
        database_host=postgres.host,
        database_port=postgres.port,
        database_name=DATABASE,
        database_user=APP,
        database_password_file=postgres.password_file(APP),
        redis_host=redis_server.host,
        redis_port=redis_server.port,
        redis_password_file=redis_server.password_file,
        # An hour, not the default week: the purge tests place rows on either side of it.
        expired_link_grace_seconds=3600,
    )


@pytest.fixture
def queue(worker_settings: WorkerSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Queue]:
    """The worker's queue on the test Redis, with the settings jobs read installed."""
    # Jobs read the settings the worker process installed; monkeypatch puts the module's
    # "not loaded" state back afterwards, so no other test inherits them.
    monkeypatch.setattr(worker_backends, "_settings", None)
    worker_backends.use_settings(worker_settings)
    with worker_backends.redis_connection(worker_settings) as connection:
        yield Queue(worker_settings.queues[0], connection=connection)


@pytest.fixture
def anyio_backend() -> str:
    # The API runs on asyncio in production (uvicorn); trio is not a target.
    return "asyncio"


# `async with serve_api(settings) as client` (the fixture below).
ServeApi = Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def api_key(postgres: Postgres) -> str:
    """A fresh API key, made the way `make api-key` makes one (as the app role)."""
    with postgres.connect(APP) as conn:
        _, key = create_key(conn, "integration tests")
    return key


@pytest.fixture
def serve_api(api_key: str) -> ServeApi:
    """`async with serve_api(settings) as client`: the app in-process, lifespan included,
    the client sending `api_key`."""

    @asynccontextmanager
    async def serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings)
        # The lifespan opens the pool and closes pool and Redis client, as under uvicorn.
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url=PUBLIC_BASE_URL,
                headers={"Authorization": f"Bearer {api_key}"},
            ) as client:
                yield client

    return serve


@pytest.fixture
async def client(
    serve_api: ServeApi, api_settings: Settings, anyio_backend: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The app against the test containers, with the settings compose would give it."""
    async with serve_api(api_settings) as client:
        yield client
