"""The results of `make bench`: a printed table, bench/results/latest.json, results.md and
chart.png; and a summary of a py-spy profile (where an api process spends its time)."""

import json
import os
import platform
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter

# The targets of issue 7 (docs/performance.md), checked on every run.
TARGETS = {
    "redirect-cache-hit": "ratio >= 0.20, p99 <= 20 ms, 0 errors",
    "redirect-cache-miss": "ratio >= 0.05",
    "create-batch-1000": "p50 < 500 ms per call",
    "ingest-clicks": ">= 20,000 clicks/s",
}


def target_met(name: str, result: dict) -> bool | None:
    ratio = result.get("ratio_to_ceiling") or 0
    if name == "redirect-cache-hit":
        return ratio >= 0.20 and result["p99_ms"] <= 20 and result["errors"] == 0
    if name == "redirect-cache-miss":
        return ratio >= 0.05
    if name == "create-batch-1000":
        return result["p50_ms"] < 500
    if name == "ingest-clicks":
        return result["rps"] >= 20_000
    return None


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


# CPU time per request (us) by where it was spent; "machine" is the whole host's, so what
# it has beyond the services is wrk's, Docker's userland proxy's and the kernel's.
CPU_KEYS = ("api_cpu_us", "proxy_cpu_us", "cache_cpu_us", "database_cpu_us", "machine_cpu_us")


def _cpu(result: dict) -> str:
    values = [result.get(key) for key in CPU_KEYS]
    if None in values:
        return "-"
    return ", ".join(f"{value:.0f}" for value in values)


def table(scenarios: dict[str, dict]) -> str:
    lines = [
        "| scenario | conns | rps | p50 ms | p90 ms | p99 ms | errors | ratio to ceiling "
        "| CPU us/request: api, proxy, cache, database, machine | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in scenarios.items():
        met = target_met(name, result)
        verdict = "" if met is None else ("met" if met else "MISSED")
        unit = f" {result['unit']}" if "unit" in result else ""
        cells = [
            name,
            str(result["connections"]),
            f"{result['rps']:,.0f}{unit}",
            _ms(result["p50_ms"]),
            _ms(result["p90_ms"]),
            _ms(result["p99_ms"]),
            str(result["errors"]),
            f"{result['ratio_to_ceiling']:.1%}",
            _cpu(result),
            f"{verdict} {TARGETS.get(name, '')}".strip(),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def chart(scenarios: dict[str, dict], path: Path, title: str) -> None:
    names = list(scenarios)
    rates = [scenarios[name]["rps"] for name in names]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    bars = left.barh(names, rates, color=["#888888", *["#3b75af"] * (len(names) - 1)])
    left.set_xscale("log")
    left.invert_yaxis()
    left.set_xlabel("requests/s (links/s, clicks/s), log scale")
    for bar, name in zip(bars, names, strict=True):
        ratio = scenarios[name]["ratio_to_ceiling"]
        left.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {ratio:.1%}", va="center")
    timed = [name for name in names if scenarios[name]["p50_ms"] is not None]
    positions = range(len(timed))
    right.barh(
        [p - 0.2 for p in positions], [scenarios[n]["p50_ms"] for n in timed], 0.4, label="p50"
    )
    right.barh(
        [p + 0.2 for p in positions], [scenarios[n]["p99_ms"] for n in timed], 0.4, label="p99"
    )
    right.set_yticks(list(positions), timed)
    right.set_xscale("log")
    right.xaxis.set_minor_formatter(NullFormatter())  # labels on powers of ten only
    right.invert_yaxis()
    right.set_xlabel("latency, ms, log scale (batch: per call of 1000)")
    right.legend()
    figure.suptitle(title)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write(
    results: Path, scenarios: dict[str, dict], settings: dict, versions: dict, clicks: dict
) -> int:
    ceiling = scenarios["ceiling"]["rps"]
    for result in scenarios.values():
        result["ratio_to_ceiling"] = result["rps"] / ceiling
    when = datetime.now(UTC).isoformat(timespec="seconds")
    document = {
        "when": when,
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "versions": versions,
        "settings": settings,
        "clicks": clicks,
        "scenarios": {
            name: {
                key: result[key]
                for key in ("rps", "p50_ms", "p90_ms", "p99_ms", "errors", "ratio_to_ceiling")
            }
            | {"requests": result["requests"], "connections": result["connections"]}
            | {key: result.get(key) for key in CPU_KEYS}
            | ({"target_met": target_met(name, result)} if name in TARGETS else {})
            for name, result in scenarios.items()
        },
    }
    text = table(scenarios)
    (results / "latest.json").write_text(json.dumps(document, indent=2) + "\n")
    summary = (
        f"make bench, {when}, {os.cpu_count()} cores, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}\n\n{text}\n\n"
        f"clicks: {clicks['recorded']:.0f} recorded by the api, {clicks['lost']:.0f} lost, "
        f"{clicks['unconfirmed']:.0f} unconfirmed, {clicks['ingested']} ingested by one worker\n"
    )
    (results / "results.md").write_text(summary)
    chart(scenarios, results / "chart.png", f"make bench, {when}, {os.cpu_count()} cores")
    print("\n" + summary)
    print(f"written: {results}/latest.json, results.md, chart.png")
    return 0


FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/app/", "python3.13/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['function']} ({path})"


def profile_summary(raw: str, top: int = 30) -> str:
    """py-spy's raw (collapsed) stacks -> the functions with the largest inclusive share."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = idle = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        frames = [_frame_name(frame) for frame in stack.split(";")]
        # py-spy cannot tell idle threads in a container: the thread pool's threads wait in
        # Condition.wait, the event loop in uvloop's C code (seen as Runner.run itself).
        if any(frame.startswith("Thread._bootstrap ") for frame in frames):
            continue
        if frames[-1].startswith("Runner.run "):
            idle += samples
            continue
        total += samples
        for name in set(frames):
            inclusive[name] += samples
        own[frames[-1]] += samples
    lines = [
        f"py-spy: {total} busy samples of the event loop's thread ({idle} idle left out);"
        " inclusive % / own %"
    ]
    for name, samples in inclusive.most_common(top):
        lines.append(f"{100 * samples / total:6.1f} {100 * own[name] / total:6.1f}  {name}")
    return "\n".join(lines)
