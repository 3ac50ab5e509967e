"""Countries through the whole stack (docs/clicks.md, "Countries"): a stack of its own with
a country database in GEOIP_DIR, as an operator mounts one; the address the api looks up
is the one nginx forwards (`X-Forwarded-For $remote_addr`), never one the client sends;
a new file renamed over the old one is used without a restart."""

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import Stack, make_secrets
from tests.geoip import write_country_database

pytestmark = pytest.mark.e2e

EVERYWHERE = ("0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1")


def everywhere_in(country: str) -> dict[str, str]:
    """Every address in one country: whatever address nginx sees the test client at."""
    return dict.fromkeys(EVERYWHERE, country)


@dataclass
class CountryStack(Stack):
    geoip_dir: Path = field(default_factory=Path)

    @property
    def env(self) -> dict[str, str]:
        return {
            **super().env,
            "GEOIP_DIR": str(self.geoip_dir),
            "GEOIP_DATABASE_FILE": "/geoip/country.mmdb",
        }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    geoip = tmp_path_factory.mktemp("geoip")
    # Readable by the api's unprivileged user (uid 10001), as docs/clicks.md asks.
    os.chmod(geoip, 0o755)  # noqa: S103 (a folder of public data, read by another uid)
    os.chmod(write_country_database(geoip / "country.mmdb", everywhere_in("NZ")), 0o644)
    secrets_dir = make_secrets(tmp_path_factory.mktemp("secrets"))
    with CountryStack(secrets_dir, geoip_dir=geoip).running() as stack:
        yield stack


@pytest.fixture(scope="module")
def client(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client(stack.create_api_key("countries")) as client:
        yield client


def top_countries_once_ingested(client: httpx.Client, code: str, clicks: int) -> list[dict]:
    deadline = time.monotonic() + 30
    while True:
        stats = client.get(f"/api/links/{code}/stats").json()
        if stats["in_range"]["clicks"] >= clicks or time.monotonic() > deadline:
            return stats["top_countries"]
        time.sleep(0.5)


def test_the_country_of_the_address_nginx_forwards_and_of_a_swapped_file(
    stack: CountryStack, client: httpx.Client
) -> None:
    ready = client.get("/health/ready").json()
    assert ready["checks"]["countries"]["status"] == "pass", ready
    code = client.post("/api/links", json={"url": "https://example.org/"}).json()["code"]

    # A forged X-Forwarded-For: nginx replaces it with the connection's address.
    redirect = client.get(f"/{code}", headers={"X-Forwarded-For": "203.0.113.7"})
    assert redirect.status_code == 302
    assert top_countries_once_ingested(client, code, 1) == [{"country": "NZ", "clicks": 1}]

    # A new release renamed over the old file (as geoipupdate does): used within 5 s.
    os.chmod(write_country_database(stack.geoip_dir / "country.mmdb", everywhere_in("IT")), 0o644)
    time.sleep(6)
    assert client.get(f"/{code}").status_code == 302
    assert top_countries_once_ingested(client, code, 2) == [
        {"country": "IT", "clicks": 1},
        {"country": "NZ", "clicks": 1},
    ]
    assert "country database loaded" in stack.compose("logs", "api", check=False)
