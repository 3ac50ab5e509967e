"""What the tests read from the running stack besides HTTP answers: the api replicas'
Prometheus counters (inside each container: /metrics is never published), container
state, and memory use as `docker stats` reports it."""

import itertools
import re
import statistics
import time
from dataclasses import dataclass

from tests.e2e.stack import Stack, run

SERVICE_LABEL = "com.docker.compose.service"
METRICS_GET = (
    "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
    "'http://127.0.0.1:8000/metrics', timeout=5).read().decode())"
)
UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "kB": 10**3, "MB": 10**6, "GB": 10**9}


def replicas(stack: Stack, service: str) -> list[str]:
    """Container ids of a service's running replicas."""
    return stack.compose("ps", "--quiet", service).split()


def api_counters(stack: Stack, *names: str) -> dict[str, float]:
    """Counters summed over every api replica (each counts its own requests). Names as
    the metrics page prints them, labels included: 'NAME_total{result="error"}'."""
    totals = dict.fromkeys(names, 0.0)
    for container in replicas(stack, "api"):
        text = run(["docker", "exec", container, "python", "-c", METRICS_GET]).stdout
        for name in names:
            found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
            assert found, f"{name} not in the metrics of {container}"
            totals[name] += float(found.group(1))
    return totals


def api_counter(stack: Stack, name: str) -> float:
    """One counter summed over every api replica (see api_counters)."""
    return api_counters(stack, name)[name]


def state(stack: Stack, container: str) -> dict:
    return stack.inspect(container)["State"]


def api_starts(stack: Stack) -> dict[str, tuple[str, int]]:
    """Each api replica's container, when its process last started and how often Docker
    restarted it: the same answer later means the same processes, never restarted."""
    return {
        container: (info["State"]["StartedAt"], info["RestartCount"])
        for container in replicas(stack, "api")
        for info in [stack.inspect(container)]
    }


def health(stack: Stack, container: str) -> str:
    return state(stack, container).get("Health", {}).get("Status", "")


def memory_bytes(text: str) -> float:
    """'123.4MiB' -> bytes."""
    found = re.fullmatch(r"([\d.]+)\s*([A-Za-z]+)", text.strip())
    assert found, f"unexpected docker stats memory {text!r}"
    return float(found.group(1)) * UNITS[found.group(2)]


def memory_by_service(stack: Stack, services: tuple[str, ...]) -> dict[str, float]:
    """Memory in use per service (its replicas added up), from one `docker stats` sample."""
    containers = [c for service in services for c in replicas(stack, service)]
    output = run(
        [
            "docker",
            "stats",
            "--no-stream",
            "--format",
            "{{.Container}} {{.MemUsage}}",
            *containers,
        ]
    ).stdout
    used = {
        container[:12]: memory_bytes(line.split(" ", 1)[1].split("/")[0])
        for line in output.splitlines()
        if line.strip()
        for container in [line.split(" ", 1)[0]]
    }
    totals = dict.fromkeys(services, 0.0)
    for service in services:
        for container in replicas(stack, service):
            totals[service] += used[container[:12]]
    return totals


@dataclass(frozen=True)
class Trend:
    """A line through memory samples: where it starts and how it moves.

    The slope is Theil-Sen's, the median of the slopes between every pair of samples,
    not least squares': a worker's memory jumps for a moment whenever RQ's forked work
    horse runs a job (every second), and a few such samples near either end would tilt a
    least-squares line by several MiB a minute on a flat series.
    """

    samples: int
    first_mib: float
    last_mib: float
    slope_mib_per_minute: float

    @classmethod
    def fit(cls, times: list[float], values: list[float]) -> "Trend":
        minutes = [(t - times[0]) / 60 for t in times]
        mib = [v / 2**20 for v in values]
        slopes = [
            (mib[j] - mib[i]) / (minutes[j] - minutes[i])
            for i, j in itertools.combinations(range(len(mib)), 2)
            if minutes[j] > minutes[i]
        ]
        return cls(len(values), mib[0], mib[-1], statistics.median(slopes))


def sample_memory(
    stack: Stack, services: tuple[str, ...], until: float, every: float
) -> dict[str, Trend]:
    """Sample until time.monotonic() reaches `until`; a trend per service."""
    times: list[float] = []
    values: dict[str, list[float]] = {service: [] for service in services}
    while time.monotonic() < until:
        started = time.monotonic()
        sample = memory_by_service(stack, services)
        times.append(started)
        for service in services:
            values[service].append(sample[service])
        time.sleep(max(0.0, every - (time.monotonic() - started)))
    return {service: Trend.fit(times, values[service]) for service in services}


def clicks_counted(stack: Stack, codes: list[str]) -> int:
    """Clicks the worker has ingested for these links (what their `visits` say), read in
    Postgres: polling the API for it would spend the test's own rate-limit budget."""
    return int(
        stack.sql(
            "SELECT coalesce(sum(t.clicks), 0) FROM shortener.links l JOIN shortener.click_totals t"
            " ON t.link_id = l.id WHERE l.code = ANY(string_to_array(:'codes', ','))",
            codes=",".join(codes),
        )
    )


CLICK_STREAM = "clicks:stream"
CLICK_GROUP = "ingest"


def pending_by_consumer(stack: Stack) -> dict[str, int]:
    """Entries delivered to the ingestion group's consumers and not yet acknowledged, per
    consumer (XPENDING's summary: total, smallest id, largest id, then consumer, count)."""
    lines = stack.redis("XPENDING", CLICK_STREAM, CLICK_GROUP).splitlines()
    return {name: int(count) for name, count in zip(lines[3::2], lines[4::2], strict=True)}


def undelivered(stack: Stack) -> int:
    """Entries of the stream that no consumer of the ingestion group has read yet (its lag)."""
    lines = stack.redis("XINFO", "GROUPS", CLICK_STREAM).splitlines()
    lag = lines[lines.index("lag") + 1]
    assert lag.isdigit(), f"the group's lag is unknown: {lines}"
    return int(lag)


def worker_names(stack: Stack, containers: list[str], timeout: float = 60) -> dict[str, str]:
    """Each worker container's RQ name, which is also its consumer name in the group (a new
    one at every start; the worker writes it to a file as it starts)."""
    names: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(names) < len(containers):
        for container in (c for c in containers if c not in names):
            found = run(["docker", "exec", container, "cat", "/tmp/rq-worker-name"], check=False)
            if found.returncode == 0 and found.stdout.strip():
                names[container] = found.stdout.strip()
        assert time.monotonic() < deadline, f"worker names after {timeout} s: {names}"
        time.sleep(0.5)
    return names
