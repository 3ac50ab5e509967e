"""Each alert a fault can make, made by that fault on the running stack and followed to
the receiver: the notification Alertmanager sends, and the resolution once the fault is
undone. Times from fault to notification are printed at the end of the run
(docs/monitoring.md records them); they include the test override's 5 s `for:` and 5 s
scrapes, not the shipped minutes.
"""

import time

import httpx
import pytest

from tests.faults.conftest import shorten
from tests.faults.traffic import Flow, Traffic, create, follow
from tests.monitoring.conftest import MEASURED, MonitoredStack, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(monitored: MonitoredStack, api_key: str) -> httpx.Client:
    return monitored.client(api_key)


def oldest_click_age(stack: MonitoredStack) -> float:
    return max(stack.values("max(shortener_click_stream_oldest_age_seconds)"), default=0.0)


def test_the_database_stopped_under_creates_fires_the_error_ratio_alert(
    monitored: MonitoredStack, client: httpx.Client
) -> None:
    with Traffic(
        monitored.base_url,
        # Each create waits out the pool's timeout while the database is away: threads
        # enough that 503s keep coming (nginx allows the api 10 r/s from one client).
        [Flow("create", 4, create("https://example.org/monitoring/db"), threads=8)],
        headers=dict(client.headers),
    ) as traffic:
        time.sleep(3)
        monitored.compose("stop", "database", timeout=120)
        stopped = time.time()
        try:
            notified = monitored.wait_for_notification("ApiErrorRatioHigh", "firing", stopped, 150)
            database_down = monitored.wait_for_notification("PostgresDown", "firing", stopped, 60)
            # The workers answer their scrapes without the database (bounded reads).
            assert not monitored.fired("WorkerDown", stopped)
        finally:
            monitored.compose("start", "database", timeout=120)
            monitored.wait_healthy("database")
    # The fault, seen by the clients: creates answered 503 while the database was away.
    statuses = {outcome.status for outcome in traffic.of("create")}
    assert 503 in statuses, statuses
    for replica in monitored.compose("ps", "--quiet", "api").split():
        wait_until(
            lambda replica=replica: (
                monitored.inspect(replica)["State"]["Health"]["Status"] == "healthy"
            ),
            90,
            "api healthy again",
        )
    MEASURED.append(
        f"database stopped under 4 creates/s: ApiErrorRatioHigh notified after "
        f"{notified - stopped:.1f} s, PostgresDown after {database_down - stopped:.1f} s"
    )


def test_a_stopped_worker_fires_the_ingestion_alert_until_it_returns(
    monitored: MonitoredStack, client: httpx.Client
) -> None:
    codes = shorten(client, 5, "https://example.org/monitoring/worker")
    with Traffic(monitored.base_url, [Flow("redirect", 10, follow(codes))]):
        time.sleep(3)
        assert oldest_click_age(monitored) < 10  # ingestion keeps up before the fault
        monitored.compose("stop", "worker", timeout=120)
        stopped = time.time()
        # The fault, seen: clicks wait in the stream, older and older.
        wait_until(lambda: oldest_click_age(monitored) > 10, 30, "clicks piling up")
        worker_down = monitored.wait_for_notification("WorkerDown", "firing", stopped, 60)
        stalled = monitored.wait_for_notification("ClickIngestionStalled", "firing", stopped, 150)
        restarted = time.time()
        monitored.compose("start", "worker", timeout=120)
        resolved = monitored.wait_for_notification(
            "ClickIngestionStalled", "resolved", restarted, 90
        )
        monitored.wait_for_notification("WorkerDown", "resolved", restarted, 60)
    assert stalled - stopped > 60  # the threshold: clicks older than a minute
    MEASURED.append(
        f"worker stopped under 10 redirects/s: WorkerDown notified after "
        f"{worker_down - stopped:.1f} s, ClickIngestionStalled after {stalled - stopped:.1f} s "
        f"(threshold 60 s), resolved {resolved - restarted:.1f} s after the worker returned"
    )


def test_a_stopped_cache_fires_redis_down(monitored: MonitoredStack) -> None:
    monitored.compose("stop", "cache", timeout=120)
    stopped = time.time()
    try:
        # The fault, seen by the exporter: an answer, not a failed scrape.
        wait_until(lambda: monitored.values("redis_up") == [0.0], 15, "redis_up 0")
        notified = monitored.wait_for_notification("RedisDown", "firing", stopped, 60)
        # The api and the workers still answer their scrapes, Redis gone or not (their
        # reads of it are bounded: worker/shortener_worker/bounded.py): no false page.
        time.sleep(15)
        for alertname in ("ApiDown", "WorkerDown"):
            assert not monitored.fired(alertname, stopped), alertname
    finally:
        restarted = time.time()
        monitored.compose("start", "cache", timeout=120)
        monitored.wait_healthy("cache")
    resolved = monitored.wait_for_notification("RedisDown", "resolved", restarted, 60)
    MEASURED.append(
        f"cache stopped: RedisDown notified after {notified - stopped:.1f} s, resolved "
        f"{resolved - restarted:.1f} s after it was back"
    )
