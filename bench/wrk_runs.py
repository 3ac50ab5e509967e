"""wrk runs: one run of a script of bench/wrk/ (rate, latency percentiles, errors, and the
CPU time per request of each service and of the machine), the redirect scenarios' call of
it, and the rounds of one scenario combined into one result."""

import argparse
import json
from pathlib import Path

from bench import report
from bench.cpu_time import CPU_SERVICES, cpu_seconds, machine_busy_seconds
from tests.e2e.stack import REPO, Stack, run

WRK_DIR = REPO / "bench" / "wrk"


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
        # wrk counts a status of 400 and above as an error; bench/checks.py names each kind.
        errors_by_kind = {
            "connect": raw["connect_errors"],
            "read": raw["read_errors"],
            "write": raw["write_errors"],
            "status": raw["status_errors"],
            "timeout": raw["timeouts"],
        }
        return {
            "rps": raw["requests"] / seconds_run,
            "requests": raw["requests"],
            "p50_ms": raw["p50_us"] / 1000,
            "p90_ms": raw["p90_us"] / 1000,
            "p99_ms": raw["p99_us"] / 1000,
            "errors": sum(errors_by_kind.values()),
            "errors_by_kind": errors_by_kind,
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
        "errors_by_kind": {
            kind: sum(run["errors_by_kind"][kind] for run in runs)
            for kind in runs[0]["errors_by_kind"]
        },
        "connections": runs[0]["connections"],
        "rounds": [round(run["rps"]) for run in runs],
    }
