"""The two containers the integration tier runs, configured as docker-compose.yml does:
the same environment, the same secret files under /run/secrets, the repo's init-db/ and the
same redis-server command line. So the tests meet the real roles and the real Redis ACL,
not a superuser on a default image.
"""

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest
import redis
from testcontainers.core.container import DockerContainer

REPO = Path(__file__).resolve().parents[2]
POSTGRES_IMAGE = os.environ.get("POSTGRES_IMAGE", "postgres:17-trixie")
REDIS_IMAGE = os.environ.get("REDIS_IMAGE", "redis:8.0")
READY_TIMEOUT_SECONDS = 60

DATABASE = "shortener"
SUPERUSER = "postgres"
OWNER = "shortener_owner"
APP = "shortener_app"
PUBLIC_BASE_URL = "https://sho.rt"

# The secret file holding each role's password (names as scripts/secrets.sh writes them).
PASSWORD_FILES = {
    SUPERUSER: "postgres_superuser_password",
    OWNER: "database_owner_password",
    APP: "database_app_password",
}

Ready = TypeVar("Ready")


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    secrets: Path

    def password_file(self, user: str) -> Path:
        return self.secrets / PASSWORD_FILES[user]

    def connect(self, user: str = OWNER, dbname: str = DATABASE) -> psycopg.Connection:
        # Autocommit, like the services: a statement stands alone unless the test opens
        # a transaction itself.
        return psycopg.connect(
            host=self.host,
            port=self.port,
            dbname=dbname,
            user=user,
            password=self.password_file(user).read_text(encoding="utf-8").strip(),
            autocommit=True,
            connect_timeout=5,
        )


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int
    password_file: Path

    def client(self) -> redis.Redis:
        return redis.Redis(
            host=self.host,
            port=self.port,
            password=self.password_file.read_text(encoding="utf-8").strip(),
            decode_responses=True,
        )


def postgres_container(secrets: Path) -> DockerContainer:
    """compose's `database` service; the data directory is the image's anonymous volume."""
    container = (
        DockerContainer(POSTGRES_IMAGE)
        .with_envs(
            POSTGRES_USER=SUPERUSER,
            POSTGRES_DB=DATABASE,
            POSTGRES_PASSWORD_FILE="/run/secrets/postgres_superuser_password",
            DATABASE_OWNER_USER=OWNER,
            DATABASE_APP_USER=APP,
            DATABASE_OWNER_PASSWORD_FILE="/run/secrets/database_owner_password",
            DATABASE_APP_PASSWORD_FILE="/run/secrets/database_app_password",
        )
        # The roles only: the backup stanza (init-db/20-backups.sh) needs the database
        # image's pgBackRest, and these tests run the plain base image.
        .with_volume_mapping(
            REPO / "init-db" / "10-roles.sh", "/docker-entrypoint-initdb.d/10-roles.sh", "ro"
        )
        .with_exposed_ports(5432)
    )
    for name in PASSWORD_FILES.values():
        container.with_volume_mapping(secrets / name, f"/run/secrets/{name}", "ro")
    return container


def redis_container(secrets: Path) -> DockerContainer:
    """compose's `cache` service: users from the ACL file (a hash only), AOF on."""
    return (
        DockerContainer(REDIS_IMAGE)
        .with_command(
            [
                "redis-server",
                "--aclfile",
                "/run/secrets/redis_users_acl",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--dir",
                "/data",
            ]
        )
        .with_volume_mapping(secrets / "redis_users.acl", "/run/secrets/redis_users_acl", "ro")
        # Mounted as in compose, where the healthcheck reads it; the server itself does not.
        .with_volume_mapping(secrets / "redis_password", "/run/secrets/redis_password", "ro")
        .with_exposed_ports(6379)
    )


def wait_until_ready(container: DockerContainer, what: str, probe: Callable[[], Ready]) -> Ready:
    """Call `probe` until it stops raising; fail with the container's log if it never does."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        try:
            return probe()
        except Exception as error:
            wrapped = container.get_wrapped_container()
            wrapped.reload()
            if wrapped.status == "exited" or time.monotonic() > deadline:
                log = wrapped.logs().decode(errors="replace")
                pytest.fail(f"{what} never became ready ({error}); container log:\n{log}")
            time.sleep(0.2)


def closed_port() -> int:
    """A loopback port nothing listens on: the kernel's pick, released at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
