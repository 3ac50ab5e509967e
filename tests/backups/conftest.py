"""The backups tier: the production variant (its hardening included) with pgBackRest's
continuous archiving, driven by scripts/backup.sh as `make backup` / `make restore` drive
it (docs/backups.md). One stack for the tier, its repository a host folder (the
BACKUP_REPOSITORY setting; every other tier's stack uses the default named volume); each
drill leaves it serving."""

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.stack import REPO, Stack, make_secrets, run
from tests.faults.traffic import wait_until

PROD_FILES = [REPO / "docker-compose.yml", REPO / "docker-compose.prod.yml"]
POSTGRES_UID = 999  # the postgres user of the official image and of the stand-in
SCRAPE = (
    "import urllib.request; print(urllib.request.urlopen("
    "'http://127.0.0.1:9100/metrics', timeout=10).read().decode())"
)


def printed(name: str, labels: dict[str, str]) -> str:
    """A sample as the metrics page prints it: `name` or `name{label="value",...}`."""
    if not labels:
        return name
    return name + "{" + ",".join(f'{key}="{value}"' for key, value in labels.items()) + "}"


@dataclass
class BackupStack(Stack):
    repository: Path | None = None

    @property
    def env(self) -> dict[str, str]:
        if self.repository is None:
            return super().env
        return {**super().env, "BACKUP_REPOSITORY": str(self.repository)}

    def backup(self, *args: str, check: bool = True) -> str:
        """scripts/backup.sh with this stack's compose files; its output (stderr too)."""
        files = self.file_args
        finished = run(
            [str(REPO / "scripts" / "backup.sh"), *args, *files], self.env, check, timeout=600
        )
        return finished.stdout + finished.stderr

    def as_app_role(self, sql: str) -> str:
        """psql as the api's role over TCP, as the api connects: what it says, errors too."""
        files = self.file_args
        finished = run(
            [
                "docker", "compose", *files, "exec", "-T", "database", "sh", "-c",
                'PGPASSWORD="$(cat /run/secrets/database_app_password)" psql -h 127.0.0.1'
                ' -U shortener_app -d shortener -v ON_ERROR_STOP=1 -tA -c "$0"',
                sql,
            ],
            self.env,
            check=False,
        )  # fmt: skip
        return finished.stdout + finished.stderr

    def archived(self) -> None:
        """Until the WAL written so far is in the repository (the segment switched now)."""
        segment = self.sql("SELECT pg_walfile_name(pg_switch_wal())")
        wait_until(
            lambda: self.sql("SELECT last_archived_wal FROM pg_stat_archiver") >= segment, 60
        )

    def metrics(self) -> dict[str, float]:
        """The worker's metrics, scraped as Prometheus does: `name{label="value"}` -> value."""
        text = self.exec("worker", "python", "-c", SCRAPE)
        return {
            printed(sample.name, sample.labels): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def destroy_database_volume(self) -> None:
        """What losing the disk does: the container and its volume gone (the backup
        repository, another volume, stays)."""
        self.compose("rm", "--stop", "--force", "database")
        run(["docker", "volume", "rm", f"{self.name}_database-data"])


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackupStack]:
    repository = tmp_path_factory.mktemp("backup-repository")
    os.chown(repository, POSTGRES_UID, POSTGRES_UID)
    stack = BackupStack(
        make_secrets(tmp_path_factory.mktemp("backups-secrets")),
        files=PROD_FILES,
        name=f"shortener-backups-{secrets.token_hex(3)}",
        repository=repository,
    )
    with stack.running():
        yield stack


@pytest.fixture(scope="session")
def api_key(stack: BackupStack) -> str:
    return stack.create_api_key("backups")


@pytest.fixture
def client(stack: BackupStack, api_key: str) -> Iterator[httpx.Client]:
    with stack.client(api_key) as client:
        yield client


def shorten(client: httpx.Client, label: str, count: int) -> list[str]:
    codes = []
    for number in range(count):
        created = client.post("/api/links", json={"url": f"https://example.org/{label}/{number}"})
        assert created.status_code == 201, created.text
        codes.append(created.json()["code"])
    return codes
