"""The worker runs a real job end to end: RQ in the cache service, effect in Postgres."""

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


def test_worker_purges_an_expired_link(client: httpx.Client, stack: Stack) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=2)
    code = client.post(
        "/api/links", json={"url": "https://example.org/soon", "expires_at": expires.isoformat()}
    ).json()["code"]
    kept = client.post("/api/links", json={"url": "https://example.org/kept"}).json()["code"]
    assert client.get(f"/{code}").status_code == 302

    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.5)
    assert client.get(f"/{code}").status_code == 410

    # Enqueued on the cache service's RQ queue; processed by the running worker container.
    purged = stack.exec(
        "worker",
        "python",
        "-m",
        "shortener_worker",
        "enqueue",
        "purge-expired-links",
        "--grace-seconds",
        "0",
        "--wait",
        "30",
    )
    assert int(purged.strip()) >= 1
    count = "SELECT count(*) FROM shortener.links WHERE code = :'code'"
    assert stack.sql(count, code=code) == "0"
    assert stack.sql(count, code=kept) == "1"
    # The job also dropped the cached answer, so the code is now simply unknown.
    assert client.get(f"/{code}").status_code == 404


def test_worker_reports_healthy_through_its_heartbeat(stack: Stack) -> None:
    state = stack.inspect(stack.container("worker"))["State"]
    assert state["Health"]["Status"] == "healthy"
    stack.exec("worker", "python", "-m", "shortener_worker", "health")
