"""The faults tier: one production-variant stack for the session, faults made with Docker.

One stack, the production variant (docker-compose.yml + docker-compose.prod.yml, plus a
small test-only filesystem for the disk-full test, database-disk.yml): the
replica-kill row needs its two api replicas, a second stack would cost the tier most of a
minute, and the other rows are as true of it as of the base file (it is what production
runs). Each test restores what it broke (a started cache, an unpaused cache, a running
database, both workers healthy) before the next one starts; the soak goes first, on a
fresh stack, and the replica kill last. Measured figures are printed at the end of the run
(docs/reliability.md records them).
"""

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import REPO, Stack, make_secrets

PROD_FILES = [REPO / "docker-compose.yml", REPO / "docker-compose.prod.yml"]
# Test-only: a small filesystem for the disk-full test (see the file).
DISK_FILE = Path(__file__).parent / "database-disk.yml"
# Test-only: a webhook receiver the sender may reach (see the file).
RECEIVER_FILE = Path(__file__).parent / "webhook-receiver.yml"
# Run order within the session: a clean stack for the soak, the replica kill at the end.
FIRST = ("test_load_held.py",)
LAST = ("test_api_replica_faults.py",)

MEASURED: list[tuple[str, str]] = []


def record(test: str, figures: str) -> None:
    """Keep a measured figure for the run's summary (and docs/reliability.md)."""
    MEASURED.append((test, figures))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return 0 if name in FIRST else 2 if name in LAST else 1

    items.sort(key=rank)  # stable: the order within a module stays as written


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MEASURED:
        terminalreporter.section("measured (docs/reliability.md)")
        for test, figures in MEASURED:
            terminalreporter.write_line(f"{test}: {figures}")


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(
        make_secrets(tmp_path_factory.mktemp("faults-secrets")),
        files=[*PROD_FILES, DISK_FILE, RECEIVER_FILE],
        name=f"shortener-faults-{secrets.token_hex(3)}",
    )
    with stack.running():
        yield stack


@pytest.fixture(scope="session")
def api_key(prod: Stack) -> str:
    return prod.create_api_key("faults")


@pytest.fixture
def client(prod: Stack, api_key: str) -> Iterator[httpx.Client]:
    with prod.client(api_key) as client:
        yield client


def shorten(client: httpx.Client, count: int, url: str) -> list[str]:
    """`count` new links, each followed once so that Redis holds it (a cached redirect)."""
    codes = []
    for number in range(count):
        created = client.post("/api/links", json={"url": f"{url}/{number}"})
        assert created.status_code == 201, created.text
        codes.append(created.json()["code"])
    for code in codes:
        assert client.get(f"/{code}").status_code == 302
    return codes
