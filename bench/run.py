"""`make bench`: the production variant under load, compared with nginx's own ceiling.

Boots docker-compose.yml + docker-compose.prod.yml + bench/docker-compose.bench.yml under a
project name of its own, seeds links, drives load with wrk from the host against
127.0.0.1 only, and tears everything down with its volumes. Each scenario runs for a fixed
time after a warm-up; every rate is also given as a share of the ceiling measured in the
same run (nginx answering a static 301 itself, same container, same client, same
connections), so a busy machine moves both. Results: bench/report.py.

    make bench                        # every scenario (about 3 minutes)
    make bench ARGS="--profile"       # and py-spy on one api replica during cache hits
"""

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench import report
from bench.nginx_conf import CEILING_PREFIX, bench_nginx_conf
from tests.e2e.stack import REPO, Stack, run

BENCH = REPO / "bench"
WRK_DIR = BENCH / "wrk"
FILES = [
    REPO / "docker-compose.yml",
    REPO / "docker-compose.prod.yml",
    BENCH / "docker-compose.bench.yml",
]
# Seeded straight into Postgres: links the redirect scenarios ask for.
HIT_CODES = 10_000
MISS_CODES = 120_000
BATCH_SIZE = 1000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--rounds", type=int, default=2, help="of ceiling and cache hits")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up")
    parser.add_argument("--connections", type=int, default=64, help="for the redirects")
    parser.add_argument("--create-connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--batch-calls", type=int, default=8)
    parser.add_argument("--profile", action="store_true", help="py-spy during cache hits")
    parser.add_argument("--keep", action="store_true", help="leave the stack up (debugging)")
    return parser.parse_args()


def seed_links(stack: Stack) -> tuple[list[str], list[str]]:
    """Hit and miss codes, inserted in one statement each (no API quota, no cache fill)."""
    hits = [f"bh{n:06d}" for n in range(HIT_CODES)]
    misses = [f"bm{n:06d}" for n in range(MISS_CODES)]
    stack.sql(
        "INSERT INTO shortener.links (code, url)"  # noqa: S608 (constants of this module)
        " SELECT 'bh' || lpad(n::text, 6, '0'), 'https://example.org/hit/' || n"
        f" FROM generate_series(0, {HIT_CODES - 1}) n;"
        "INSERT INTO shortener.links (code, url)"
        " SELECT 'bm' || lpad(n::text, 6, '0'), 'https://example.org/miss/' || n"
        f" FROM generate_series(0, {MISS_CODES - 1}) n;"
        "ANALYZE shortener.links;"
    )
    return hits, misses


# The services whose CPU time per request the redirect and create scenarios report (the
# workers are stopped meanwhile: see measure()).
CPU_SERVICES = ("api", "proxy", "cache", "database")
# Where the host keeps a container's CPU time: cgroup v1 (cpuacct, nanoseconds) or v2
# (cpu.stat, microseconds), by the Docker engine's usual cgroup paths.
CGROUP_CPU = [
    ("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage", 1e-9),
    ("/sys/fs/cgroup/system.slice/docker-{id}.scope/cpu.stat", 1e-6),
    ("/sys/fs/cgroup/docker/{id}/cpu.stat", 1e-6),
]


def cpu_seconds(container_ids: list[str]) -> float | None:
    """CPU time the containers have used so far (None if the host does not say)."""
    total = 0.0
    for container in container_ids:
        for template, unit in CGROUP_CPU:
            path = Path(template.format(id=container))
            if path.exists():
                text = path.read_text()
                if path.name == "cpu.stat":  # "usage_usec N" among other lines
                    text = text.split("usage_usec", 1)[1].split()[0]
                total += int(text) * unit
                break
        else:
            return None
    return total


def machine_busy_seconds() -> float:
    """CPU time the whole host has spent busy so far, all cores (/proc/stat): containers,
    wrk, Docker's userland proxy and the kernel's network path alike."""
    # user nice system idle iowait irq softirq steal ...: not idle, not the hypervisor's.
    user, nice, system, _, _, irq, softirq = map(int, Path("/proc/stat").read_text().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


class Wrk:
    """wrk with a script of bench/wrk/; also the CPU time per request that each service and
    the whole machine spent meanwhile: unlike a rate, it hardly moves when the machine is
    busy, and it says where the two cores went."""

    def __init__(self, base_url: str, threads: int, stack: Stack) -> None:
        self.base_url = base_url
        self.threads = threads
        self.containers = {
            service: [
                stack.inspect(container)["Id"]
                for container in stack.compose("ps", "--quiet", service).split()
            ]
            for service in CPU_SERVICES
        }

    def __call__(self, script: str, seconds: int, connections: int, *args: str) -> dict:
        command = [
            "wrk",
            f"-t{self.threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(WRK_DIR / script),
            self.base_url,
            "--",
            *args,
        ]
        cpu_before = self._cpu_seconds()
        result = run(command, timeout=seconds + 60)
        cpu_after = self._cpu_seconds()
        line = next(x for x in result.stdout.splitlines() if x.startswith("WRK_JSON "))
        raw = json.loads(line.removeprefix("WRK_JSON "))
        seconds_run = raw["duration_us"] / 1e6
        errors = sum(
            raw[k]
            for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
        )
        return {
            "rps": raw["requests"] / seconds_run,
            "requests": raw["requests"],
            "p50_ms": raw["p50_us"] / 1000,
            "p90_ms": raw["p90_us"] / 1000,
            "p99_ms": raw["p99_us"] / 1000,
            "errors": errors,
            "connections": connections,
            **{
                f"{name}_cpu_us": None
                if cpu_before[name] is None or cpu_after[name] is None
                else 1e6 * (cpu_after[name] - cpu_before[name]) / max(1, raw["requests"])
                for name in cpu_before
            },
        }

    def _cpu_seconds(self) -> dict[str, float | None]:
        services = {name: cpu_seconds(ids) for name, ids in self.containers.items()}
        return services | {"machine": machine_busy_seconds()}


def redirects(
    wrk: Wrk, args: argparse.Namespace, codes: Path, mode: str, prefix: str, seconds: int
) -> dict:
    return wrk(
        "redirects.lua", seconds, args.connections, str(codes), mode, prefix, str(args.threads)
    )


def combine(runs: list[dict]) -> dict:
    """Rounds of one scenario: the mean rate and CPU, the worst percentiles, all errors."""
    cpu = {
        key: None if None in values else sum(values) / len(values)
        for key in report.CPU_KEYS
        for values in [[run[key] for run in runs]]
    }
    return cpu | {
        "rps": sum(run["rps"] for run in runs) / len(runs),
        "requests": sum(run["requests"] for run in runs),
        "p50_ms": max(run["p50_ms"] for run in runs),
        "p90_ms": max(run["p90_ms"] for run in runs),
        "p99_ms": max(run["p99_ms"] for run in runs),
        "errors": sum(run["errors"] for run in runs),
        "connections": runs[0]["connections"],
        "rounds": [round(run["rps"]) for run in runs],
    }


def batch_create(base_url: str, key: str, calls: int) -> dict:
    """`calls` batches of 1000 new links, one after another; the time of each call."""
    timings = []
    errors = 0
    with httpx.Client(
        base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {key}"}
    ) as client:
        for call in range(calls + 1):  # the first call warms up
            items = [{"url": f"https://example.org/batch/{call}/{n}"} for n in range(BATCH_SIZE)]
            started = time.perf_counter()
            response = client.post("/api/links/batch", json={"links": items})
            elapsed = time.perf_counter() - started
            ok = response.status_code == 200 and response.json()["created"] == BATCH_SIZE
            if call:
                timings.append(elapsed)
                errors += 0 if ok else 1
    timings.sort()
    return {
        "rps": BATCH_SIZE * len(timings) / sum(timings),
        "requests": len(timings),
        "p50_ms": 1000 * timings[len(timings) // 2],
        "p90_ms": 1000 * timings[int(0.9 * (len(timings) - 1))],
        "p99_ms": 1000 * timings[-1],
        "errors": errors,
        "connections": 1,
        "unit": "links/s",
    }


def api_metric(stack: Stack, name: str) -> float:
    """A counter summed over every api replica (read inside each container)."""
    total = 0.0
    script = (
        "import urllib.request; print(urllib.request.urlopen("
        "'http://127.0.0.1:8000/metrics', timeout=5).read().decode())"
    )
    for container in stack.compose("ps", "--quiet", "api").split():
        for line in stack.exec_in(container, "python", "-c", script).splitlines():
            if line.startswith(name + " "):
                total += float(line.split()[1])
    return total


def ingestion(stack: Stack) -> dict:
    """One worker drains the stream the scenarios filled; timed by the database's clock."""
    backlog = int(stack.redis("XLEN", "clicks:stream"))
    before = int(stack.sql("SELECT count(*) FROM shortener.clicks"))
    worker = stack.compose("ps", "--all", "--quiet", "worker").split()[0]
    run(["docker", "start", worker])
    # Sample count(*) every 0.1 s inside the database container until the backlog is in,
    # or nothing moved for 20 s.
    query = "SELECT count(*), extract(epoch FROM clock_timestamp()) FROM shortener.clicks"
    poll = f"""
    last=-1; still=0
    while :; do
      row=$(psql -U postgres -d shortener -tAc "{query}")
      echo "$row"; count=${{row%%|*}}
      [ "$count" -ge {before + backlog} ] && break
      if [ "$count" = "$last" ]; then still=$((still+1)); else still=0; fi
      [ "$still" -ge 200 ] && break
      last=$count; sleep 0.1
    done
    """
    samples = [
        (int(count), float(at))
        for count, at in (
            line.split("|") for line in stack.exec("database", "sh", "-c", poll).split()
        )
    ]
    started = max(at for count, at in samples if count == samples[0][0])
    final_count, finished = samples[-1]
    ingested = final_count - samples[0][0]
    return {
        "rps": ingested / (finished - started) if finished > started else 0.0,
        "requests": ingested,
        "p50_ms": None,
        "p90_ms": None,
        "p99_ms": None,
        "errors": before + backlog - final_count,
        "connections": 1,
        "unit": "clicks/s",
        "backlog": backlog,
    }


def versions(stack: Stack) -> dict:
    api = stack.exec(
        "api",
        "python",
        "-c",
        "import sys, importlib.metadata as m; print(sys.version.split()[0], "
        "*(m.version(p) for p in ('fastapi', 'starlette', 'uvicorn', 'redis', 'psycopg')))",
    ).split()
    wrk = run(["wrk", "--version"], check=False).stdout.split()[1]
    return {
        "python": api[0],
        "fastapi": api[1],
        "starlette": api[2],
        "uvicorn": api[3],
        "redis-py": api[4],
        "psycopg": api[5],
        "nginx": stack.exec("proxy", "nginx", "-v", check=False).strip() or _stderr_version(stack),
        "redis": stack.redis("INFO", "server").split("redis_version:")[1].split()[0],
        "postgres": stack.sql("SHOW server_version"),
        "wrk": wrk,
    }


def _stderr_version(stack: Stack) -> str:
    result = run(["docker", "exec", stack.container("proxy"), "nginx", "-v"], check=False)
    return result.stderr.strip().removeprefix("nginx version: ")


@contextmanager
def profiler(stack: Stack, seconds: int, results: Path) -> Iterator[None]:
    """py-spy (as root, from the host) on the uvicorn process of the first api replica."""
    pid = stack.inspect(stack.compose("ps", "--quiet", "api").split()[0])["State"]["Pid"]
    py_spy = str(Path(sys.executable).parent / "py-spy")
    raw = results / "profile-cache-hit.txt"
    process = subprocess.Popen(  # noqa: S603
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(raw),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield
    finally:
        _, stderr = process.communicate(timeout=seconds + 60)
        if process.returncode != 0:
            print(f"py-spy failed: {stderr.decode(errors='replace')}", file=sys.stderr)
        else:
            print(report.profile_summary(raw.read_text()))


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(
            "bench: wrk is not installed (make bench installs it: apt-get install wrk)"
        )
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shortener-bench-") as tmp:
        work = Path(tmp)
        secrets_dir = work / "secrets"
        run([str(REPO / "scripts" / "secrets.sh"), str(secrets_dir)])
        conf = work / "nginx.conf"
        conf.write_text(bench_nginx_conf(REPO / "nginx"))
        conf.chmod(0o644)
        os.environ["BENCH_NGINX_CONF"] = str(conf)
        stack = Stack(secrets_dir, files=FILES, name=f"shortener-bench-{secrets.token_hex(3)}")
        try:
            print(f"bench: building and starting {stack.name} (production variant)...", flush=True)
            stack.compose("build", timeout=900)
            stack.up()
            outcome = measure(stack, args, work, results)
        except BaseException:
            print(stack.logs(), file=sys.stderr)
            raise
        finally:
            if args.keep:
                print(f"bench: left up; remove with: docker compose -p {stack.name} down -v")
            else:
                stack.down()
    return outcome


def measure(stack: Stack, args: argparse.Namespace, work: Path, results: Path) -> int:
    # The workers would ingest while the redirects run: stopped, the stream keeps the
    # clicks for the ingestion scenario, and the redirect numbers are the api's alone.
    stack.compose("stop", "worker")
    hits, misses = seed_links(stack)
    hit_file, miss_file = work / "hit-codes", work / "miss-codes"
    hit_file.write_text("\n".join(hits) + "\n")
    miss_file.write_text("\n".join(hits + misses) + "\n")
    key = stack.exec("api", "python", "-m", "shortener.keys", "create", "bench").strip()
    base_url = stack.base_url
    wrk = Wrk(base_url, args.threads, stack)
    scenarios: dict[str, dict] = {}

    def step(name: str) -> None:
        print(f"bench: {name}...", flush=True)

    # Misses first, over codes never asked: the hit codes, then more. So the misses also
    # fill the cache for the hit scenario (when they reach past the hit codes).
    step("cache-miss redirects (codes never asked before)")
    redirects(wrk, args, miss_file, "once", CEILING_PREFIX, args.warmup)  # wrk and nginx warm
    scenarios["redirect-cache-miss"] = redirects(wrk, args, miss_file, "once", "/", args.duration)
    asked = scenarios["redirect-cache-miss"]["requests"]
    if asked > len(hits) + len(misses):
        print("bench: the miss scenario ran out of fresh codes: some were hits", file=sys.stderr)
    if asked < len(hits):  # a slow run: ask the rest of the hit codes once
        rest = work / "rest-of-hit-codes"
        rest.write_text("\n".join(hits[asked:]) + "\n")
        redirects(wrk, args, rest, "once", "/", args.duration)

    # The ceiling and the cache hits alternate, so a busy machine weighs on both alike.
    rounds: dict[str, list[dict]] = {"ceiling": [], "redirect-cache-hit": []}
    for number in range(1, args.rounds + 1):
        step(f"round {number}/{args.rounds}: ceiling (nginx's own 301), then cache-hit redirects")
        redirects(wrk, args, hit_file, "zipf", CEILING_PREFIX, args.warmup)
        rounds["ceiling"].append(
            redirects(wrk, args, hit_file, "zipf", CEILING_PREFIX, args.duration)
        )
        redirects(wrk, args, hit_file, "zipf", "/", args.warmup)
        profiling = args.profile and number == args.rounds
        with profiler(stack, args.duration, results) if profiling else _nothing():
            rounds["redirect-cache-hit"].append(
                redirects(wrk, args, hit_file, "zipf", "/", args.duration)
            )
    scenarios = {name: combine(runs) for name, runs in rounds.items()} | scenarios

    step("link creation, one per call")
    wrk("create.lua", args.warmup, args.create_connections, key)
    scenarios["create-single"] = wrk("create.lua", args.duration, args.create_connections, key)

    step(f"batch creation, {BATCH_SIZE} links per call")
    scenarios["create-batch-1000"] = batch_create(base_url, key, args.batch_calls)

    clicks = {
        "recorded": api_metric(stack, "shortener_clicks_recorded_total"),
        "lost": api_metric(stack, "shortener_clicks_lost_total"),
        "unconfirmed": api_metric(stack, "shortener_clicks_unconfirmed_total"),
    }
    step("click ingestion, one worker, the backlog of the scenarios above")
    scenarios["ingest-clicks"] = ingestion(stack)
    clicks["ingested"] = scenarios["ingest-clicks"]["requests"]

    settings = {
        "wrk_threads": args.threads,
        "connections": args.connections,
        "create_connections": args.create_connections,
        "duration_s": args.duration,
        "rounds_of_ceiling_and_hits": args.rounds,
        "warmup_s": args.warmup,
        "hit_codes": HIT_CODES,
        "hit_popularity": "zipf s=1",
        "batch_calls": args.batch_calls,
        "compose_files": [str(path.relative_to(REPO)) for path in FILES],
        "api_replicas": len(stack.compose("ps", "--quiet", "api").split()),
        "ceiling": f"nginx `return 301` at {CEILING_PREFIX}<code>, same container and wrk script",
        "nginx_rate_limits": "raised to 1000000r/s per address (bench only)",
        "creation_quota_per_minute": 0,
    }
    return report.write(results, scenarios, settings, versions(stack), clicks)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


if __name__ == "__main__":
    sys.exit(main())
