"""`make bench`'s ingestion scenario: one worker drains a backlog, timed by its own clock.

The workers are stopped while the other scenarios run, so their clicks wait in the stream.
Then synthetic clicks (the api's fields, for the seeded links) top the backlog up to a
floor, one worker starts, and the bench reads the worker's own account of its runs from
its /metrics (worker/shortener_worker/metrics.py): entries and seconds, added together
when each run ends. The rate is their difference across the drain, exact to the run: no
sampling window, nothing counted that ran outside it.

What is left is the fixed cost of a run (connections, the claim scan, the first read that
nothing overlaps, the trim), paid once per run rather than once per budget of steady work:
at most one run's worth too much, so the error is below overhead / seconds. The overhead is
measured after the drain: one more click, one more run (docs/performance.md).
"""

import time
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.stack import Stack, run

STREAM = "clicks:stream"  # worker/shortener_worker/clicks/stream.py
METRICS_PORT = 9100
# Seconds without progress after which the wait gives up (the worker's start included).
PATIENCE_SECONDS = 60
# Synthetic clicks are appended in chunks: each is one script, and Redis does nothing else
# meanwhile (the stack is idle then: the workers are stopped, wrk is done).
TOP_UP_CHUNK = 50_000

# Inside a worker container (its metrics are not published): scrape until the runs'
# entries reach argv[1] or stop moving for argv[2] seconds; print the last scrape.
WAIT_FOR_ENTRIES = f"""
import sys, time, urllib.request
target, patience = float(sys.argv[1]), float(sys.argv[2])
name = "shortener_worker_click_ingest_entries_total "
text, last, moved = "", None, time.monotonic()
while True:
    try:
        text = urllib.request.urlopen(
            "http://127.0.0.1:{METRICS_PORT}/metrics", timeout=5).read().decode()
    except OSError:
        pass  # not serving yet: the worker is starting
    value = next((float(x.split()[1]) for x in text.splitlines() if x.startswith(name)), None)
    if value is not None and value >= target:
        break
    if value != last:
        last, moved = value, time.monotonic()
    elif time.monotonic() - moved > patience:
        break
    time.sleep(0.25)
sys.stdout.write(text)
"""

# Clicks as the api appends them (api/shortener/clicks/event.py: link, at, ref, ua, bot,
# visitor, rid), for links lo .. lo + count - 1, at Redis' current time, 10% bots.
TOP_UP = """
local lo, count, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
math.randomseed(tonumber(ARGV[4]))
local refs = {"", "news.example", "mail.example", "search.example", "social.example"}
local agents = {"Chrome", "Firefox", "Safari", "Edge", "Googlebot"}
local t = redis.call("TIME")
local now = string.format("%.0f", tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local function hex(digits) -- 16 bits at a time: Redis' math.random overflows past 2^31
  local parts = {}
  for w = 1, digits / 4 do parts[w] = string.format("%04x", math.random(0, 65535)) end
  return table.concat(parts)
end
for _ = 1, n do
  redis.call("XADD", KEYS[1], "*",
    "link", string.format("%d", lo + math.random(0, count - 1)), "at", now,
    "ref", refs[math.random(1, #refs)], "ua", agents[math.random(1, #agents)],
    "bot", math.random() < 0.1 and "1" or "0", "visitor", hex(16), "rid", hex(32))
end
return n
"""


@dataclass(frozen=True)
class RunTotals:
    """The worker's totals at one scrape (metrics.py): all workers, since Redis began."""

    runs: float  # runs that found entries
    seconds: float  # their wall time
    entries: float  # their entries, every outcome
    ingested: float  # clicks stored and counted (shortener_worker_click_events_total)


def run_totals(text: str) -> RunTotals:
    """The totals in a scrape of the worker's /metrics (Prometheus' text format)."""
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }

    def value(name: str, **labels: str) -> float:
        try:
            return samples[(name, tuple(sorted(labels.items())))]
        except KeyError:
            raise ValueError(f"the worker's metrics have no {name} {labels or ''}") from None

    return RunTotals(
        runs=value("shortener_worker_click_ingest_runs_total"),
        seconds=value("shortener_worker_click_ingest_seconds_total"),
        entries=value("shortener_worker_click_ingest_entries_total"),
        ingested=value("shortener_worker_click_events_total", outcome="ingested"),
    )


def drain_result(
    before: RunTotals, drained: RunTotals, probed: RunTotals, backlog: int, synthetic: int
) -> dict:
    """The scenario's figures: the drain's rate by the worker's clock, and the bound on its
    error from the one-click run that followed (its seconds are a run's fixed cost)."""
    entries = drained.entries - before.entries
    seconds = drained.seconds - before.seconds
    overhead = probed.seconds - drained.seconds if probed.runs - drained.runs == 1 else None
    return {
        "rps": entries / seconds if seconds > 0 else 0.0,
        "requests": round(entries),
        "p50_ms": None,
        "p90_ms": None,
        "p99_ms": None,
        # Every entry of the backlog should have become a stored click, once.
        "errors": backlog - round(drained.ingested - before.ingested),
        "connections": 1,
        "unit": "clicks/s",
        "backlog": backlog,
        "synthetic": synthetic,
        "runs": round(drained.runs - before.runs),
        "seconds": seconds,
        "run_overhead_ms": None if overhead is None else 1000 * overhead,
        "end_error_bound": None if overhead is None or seconds <= 0 else overhead / seconds,
    }


def first_worker(stack: Stack) -> str:
    return stack.compose("ps", "--all", "--quiet", "worker").split()[0]


def scrape(worker: str, entries: float = 0) -> str:
    """The worker's /metrics once its runs' entries reach `entries` (or stop moving)."""
    started = time.monotonic()
    command = ["python", "-c", WAIT_FOR_ENTRIES, str(entries), str(PATIENCE_SECONDS)]
    text = run(["docker", "exec", worker, *command], timeout=3600).stdout
    if not text:
        raise RuntimeError(
            f"the worker served no metrics within {time.monotonic() - started:.0f} s"
        )
    return text


class Drain:
    """The scenario, once per repetition, on a bench stack whose workers are stopped; the
    synthetic clicks are for `links` (ids)."""

    def __init__(self, stack: Stack, links: range, floor: int) -> None:
        self.stack = stack
        self.links = links
        self.floor = floor
        self.worker = first_worker(stack)
        self.synthetic = 0  # appended so far, every round
        self.probes = 0

    def __call__(self, before: RunTotals) -> tuple[dict, RunTotals]:
        """Top up, start the worker, drain, probe, stop it; the figures and the totals."""
        synthetic = self._append(max(0, self.floor - int(self.stack.redis("XLEN", STREAM))))
        backlog = int(self.stack.redis("XLEN", STREAM))
        run(["docker", "start", self.worker])
        drained = run_totals(scrape(self.worker, before.entries + backlog))
        probed = drained  # no bound unless the drain ended: the probe would take the rest
        if drained.entries >= before.entries + backlog:
            self._append(1, probe=True)
            probed = run_totals(scrape(self.worker, drained.entries + 1))
        # SIGTERM: RQ lets the run in hand finish (an empty one by now), then stops.
        run(["docker", "stop", self.worker], timeout=120)
        return drain_result(before, drained, probed, backlog, synthetic), probed

    def _append(self, count: int, probe: bool = False) -> int:
        added = 0
        while added < count:
            chunk = min(TOP_UP_CHUNK, count - added)
            self.stack.redis(
                "EVAL",
                TOP_UP,
                "1",
                STREAM,
                str(self.links.start),
                str(len(self.links)),
                str(chunk),
                str(self.synthetic + self.probes + added + 1),  # a sequence per chunk
            )
            added += chunk
        if probe:
            self.probes += added
        else:
            self.synthetic += added
        return added
