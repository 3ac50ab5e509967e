"""Drill: the cache's volume lost under traffic (docs/backups.md, "Redis"). Redis is not
in the backups: what its loss costs is the click stream's tail the worker had not ingested
yet, so the worker's ingestion lag is the RPO for clicks. Measured here: the lag under
steady redirects, and the clicks a lost volume took, against it."""

import time

import httpx
import pytest

from tests.backups.conftest import BackupStack, shorten
from tests.e2e.stack import run
from tests.faults.traffic import Flow, Traffic, follow, summary, wait_until

pytestmark = pytest.mark.e2e

RATE = 30  # redirects per second
OLDEST_AGE = "shortener_worker_click_stream_oldest_age_seconds"
STREAM_ENTRIES = "shortener_worker_click_stream_entries"


def test_a_lost_cache_volume_loses_at_most_the_ingestion_lag(
    stack: BackupStack, client: httpx.Client
) -> None:
    codes = shorten(client, "cache-loss", 5)
    lag, backlog = [], []
    with Traffic(stack.base_url, [Flow("redirect", RATE, follow(codes))]) as traffic:
        # The lag under steady traffic, as Prometheus would sample it.
        sampling_until = time.monotonic() + 10
        while time.monotonic() < sampling_until:
            metrics = stack.metrics()
            lag.append(metrics[OLDEST_AGE])
            backlog.append(metrics[STREAM_ENTRIES])
            time.sleep(0.5)
        assert max(backlog) > 0  # a tail not yet ingested: what the loss can take
        stack.redis("SET", "drill:marker", "in the old volume")
        # The fault: Redis killed (nothing flushed on the way out) and its volume gone.
        lost_at_wall, lost_at = time.time(), time.monotonic()
        run(["docker", "kill", stack.container("cache")])
        stack.compose("rm", "--force", "cache")
        run(["docker", "volume", "rm", f"{stack.name}_cache-data"])
        stack.compose("up", "--detach", "--wait", "cache")
        back_at_wall, back_at = time.time(), time.monotonic()
        time.sleep(5)
    assert stack.redis("EXISTS", "drill:marker") == "0"  # a new, empty volume indeed
    # Everything in the new stream ingested (the worker trims what it has stored).
    wait_until(lambda: stack.redis("XLEN", "clicks:stream") == "0", 60)

    # Redirects never failed: from Postgres while Redis was away, as before after.
    redirected = traffic.of("redirect")
    assert all(o.status == 302 for o in redirected), summary(redirected)
    # The worker went on with the new, empty Redis: the clicks made after it was back
    # are stored (give or take the second's edge).
    after = [o for o in redirected if o.started > back_at + 1]
    stored_after = stack.clicks_of(codes) - stack.clicks_of(codes, before=back_at_wall + 1)
    assert after and abs(stored_after - len(after)) <= 2, (stored_after, len(after))

    # What the loss took: redirects answered before it whose clicks were never stored.
    answered_before = [o for o in redirected if o.ended < lost_at]
    stored_before = stack.clicks_of(codes, before=lost_at_wall)
    lost = len(answered_before) - stored_before
    bound = max(lag) + 1.0  # the worst lag seen, plus one sample's interval either side
    print(
        f"ingestion lag under {RATE} redirects/s: median {sorted(lag)[len(lag) // 2]:.2f} s, "
        f"max {max(lag):.2f} s, backlog max {max(backlog):.0f} entries; cache volume lost: "
        f"{lost} of {len(answered_before)} clicks ({lost / RATE:.2f} s of traffic), "
        f"Redis back in {back_at - lost_at:.1f} s"
    )
    assert 0 <= lost <= RATE * bound
