"""Load held: a steady, moderate mix of redirects and creates for 60 s, with no error, a
bounded p99 and maximum, and no memory growth trend in the api or the worker
(docs/reliability.md).

The load is open loop (tests/faults/traffic.py): each request has a slot in a schedule
fixed in advance, a connection behind its schedule sends its overdue requests at once,
and every latency is counted from the request's slot, so a slow answer's delay to the
requests behind it is measured, not omitted.

The rates stay under nginx's per-address limits and the api's creation quota (6000 links
a minute per key): 80 redirects/s of 200 r/s, 4 creates/s of 10 r/s, 240 links a minute.
"""

import time

import httpx
import pytest

from tests.e2e.stack import Stack
from tests.faults.conftest import record, shorten
from tests.faults.probes import api_counters, sample_memory
from tests.faults.traffic import Flow, Traffic, create, follow, percentile, summary

pytestmark = pytest.mark.e2e

SOAK_SECONDS = 60
WARM_UP_SECONDS = 20
REDIRECTS_PER_SECOND = 80
CREATES_PER_SECOND = 4
# Bounds, generous for a shared 2-core machine (docs/reliability.md has the measured
# figures): through nginx, with the load generator on the same cores. Latency from each
# request's slot in the schedule.
P99_BOUND_SECONDS = {"redirect": 1.0, "create": 2.0}
# No request waits for a timeout: every one is answered, from its slot, within less than
# the shortest timeout a request can wait out unseen, the database pool's 3 s
# (DATABASE_TIMEOUT_SECONDS; nginx's is 30 s). Redis's 0.25 s is below what latency can
# tell on this machine: the api's counters show none happened (FAILURE_COUNTERS).
MAX_BOUND_SECONDS = 3.0
FAILURE_COUNTERS = (
    'shortener_link_cache_lookups_total{result="error"}',  # a failed or timed-out read
    "shortener_clicks_lost_total",
    "shortener_clicks_unconfirmed_total",
)
# A request is late when sent this long after its slot (its connection was still waiting
# for an earlier answer, or the load generator fell behind); at most LATE_SHARE of them.
# Lateness is charged to latency anyway (timed from the slot); this bound says the load
# was held. 5%: a CI run with the e2e tier beside this one sent 78 of 4984 redirects
# (1.6%) late, the latest by 0.6 s, with p99 from the slot 287 ms; quiet runs send none.
LATE_SECONDS = 0.1
LATE_SHARE = 0.05
# A leak of L bytes per request grows memory by L * 84 * 60 bytes a minute at this load:
# 4 MiB/min is about 830 bytes per request (docs/reliability.md: the slopes measured).
MEMORY_SLOPE_BOUND_MIB_PER_MINUTE = 4.0


def test_soak_of_redirects_and_creates(prod: Stack, api_key: str, client: httpx.Client) -> None:
    codes = shorten(client, 20, "https://example.org/soak")
    flows = [
        Flow("redirect", REDIRECTS_PER_SECOND, follow(codes), threads=6, catch_up=True),
        Flow(
            "create",
            CREATES_PER_SECOND,
            create("https://example.org/soak-new"),
            threads=2,
            catch_up=True,
        ),
    ]
    traffic = Traffic(prod.base_url, flows, headers={"Authorization": f"Bearer {api_key}"})
    with traffic:
        time.sleep(WARM_UP_SECONDS)  # connections, pools and caches fill up first
        failures_before = api_counters(prod, *FAILURE_COUNTERS)
        start = time.monotonic()
        trends = sample_memory(prod, ("api", "worker"), until=start + SOAK_SECONDS, every=3)
        end = time.monotonic()
    failures = {
        name: count - failures_before[name]
        for name, count in api_counters(prod, *FAILURE_COUNTERS).items()
    }

    by_kind = {
        kind: [o for o in traffic.of(kind) if start <= o.slot < end]
        for kind in ("redirect", "create")
    }
    redirects, creates = by_kind["redirect"], by_kind["create"]
    bad_redirects = [o for o in traffic.of("redirect") if o.status != 302]
    bad_creates = [o for o in traffic.of("create") if o.status != 201]
    latency = {kind: [o.from_slot for o in outcomes] for kind, outcomes in by_kind.items()}
    p50 = {kind: percentile(seconds, 0.5) for kind, seconds in latency.items()}
    p99 = {kind: percentile(seconds, 0.99) for kind, seconds in latency.items()}
    slowest = {kind: max(seconds) for kind, seconds in latency.items()}
    # For comparison only: from the send, as a closed loop would time it.
    sent_p99 = {kind: percentile([o.seconds for o in by_kind[kind]], 0.99) for kind in by_kind}
    late = {
        kind: [o for o in outcomes if o.late > LATE_SECONDS] for kind, outcomes in by_kind.items()
    }
    most_late = {kind: max(o.late for o in outcomes) for kind, outcomes in by_kind.items()}
    seconds = end - start
    record(
        "test_soak_of_redirects_and_creates",
        f"{seconds:.0f} s: {len(redirects)} redirects ({len(redirects) / seconds:.1f}/s),"
        f" {len(creates)} creates ({len(creates) / seconds:.1f}/s),"
        f" errors {len(bad_redirects) + len(bad_creates)}; from the slot, p50/p99/max "
        + ", ".join(
            f"{kind} {p50[kind] * 1000:.1f}/{p99[kind] * 1000:.1f}/{slowest[kind] * 1000:.0f} ms"
            for kind in p99
        )
        + "; p99 from the send "
        + ", ".join(f"{kind} {sent_p99[kind] * 1000:.1f} ms" for kind in sent_p99)
        + "; sent > 100 ms late "
        + ", ".join(
            f"{kind} {len(late[kind])} (latest {most_late[kind] * 1000:.0f} ms)" for kind in late
        )
        + f"; failure counters {failures}; memory "
        + ", ".join(
            f"{service} {trend.first_mib:.0f}->{trend.last_mib:.0f} MiB"
            f" (slope {trend.slope_mib_per_minute:+.2f} MiB/min, {trend.samples} samples)"
            for service, trend in trends.items()
        ),
    )

    # The load was held: the generator shares the cores, so a little below target is allowed.
    assert len(redirects) >= 0.75 * REDIRECTS_PER_SECOND * SOAK_SECONDS, summary(redirects)
    assert len(creates) >= 0.75 * CREATES_PER_SECOND * SOAK_SECONDS, summary(creates)
    assert not bad_redirects, summary(bad_redirects)
    assert not bad_creates, summary(bad_creates)
    assert not traffic.skipped, traffic.skipped  # every slot was sent (catch_up)
    for service, trend in trends.items():
        assert trend.samples >= 6, f"{service}: {trend}"
    # Every bound, each broken one named (a soak is too long to rerun for the next).
    broken = [
        *(f"{kind} p99 {p99[kind]:.3f} s" for kind in p99 if p99[kind] >= P99_BOUND_SECONDS[kind]),
        *(
            f"{kind} max {slowest[kind]:.3f} s"
            for kind in p99
            if slowest[kind] >= MAX_BOUND_SECONDS
        ),
        *(
            f"{kind}: {summary(late[kind])}"
            for kind, outcomes in by_kind.items()
            if len(late[kind]) > LATE_SHARE * len(outcomes)
        ),
        *(f"{name} +{count:.0f}" for name, count in failures.items() if count),
        *(
            f"{service} memory {trend}"
            for service, trend in trends.items()
            if trend.slope_mib_per_minute >= MEMORY_SLOPE_BOUND_MIB_PER_MINUTE
        ),
    ]
    assert not broken, broken
