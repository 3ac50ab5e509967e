"""The results of `make bench`: a printed table, bench/results/<UTC time>.json (every run's
kept) and latest.json (a copy of the last), results.md and chart.png; and a summary of a
py-spy profile (where an api process spends its time).

With `--repeat N`, every figure is the median of the N repetitions, shown with its spread
(lowest-highest) and kept per repetition in the JSON (summary.py).

The run is judged by checks.py: what it prints and keeps, and the exit status `write`
returns (a failed correctness check, in any repetition: checks.CHECK_FAILED).
"""

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

from bench.checks import TARGETS, judge, target_met
from bench.summary import summarise, with_ratios

# CPU time per request (us) by where it was spent; "machine" is the whole host's, so what
# it has beyond the services is wrk's, Docker's userland proxy's and the kernel's.
CPU_KEYS = ("api_cpu_us", "proxy_cpu_us", "cache_cpu_us", "database_cpu_us", "machine_cpu_us")


# What the ingestion scenario adds (bench/drain.py).
INGEST_KEYS = (
    "backlog",
    "synthetic",
    "runs",
    "seconds",
    "run_overhead_ms",
    "end_error_bound",
)


def _cpu(result: dict) -> str:
    values = [result.get(key) for key in CPU_KEYS]
    if None in values:
        return "-"
    return ", ".join(f"{value:.0f}" for value in values)


def _figure(result: dict, key: str, form: str) -> str:
    """The figure, and its spread over the repetitions when there were several."""
    value = result[key]
    if value is None:
        return "-"
    low, high = result.get("spread", {}).get(key, (value, value))
    if low == high:
        return format(value, form)
    return f"{value:{form}} ({low:{form}}-{high:{form}})"  # 19.7% (18.9%-21.6%)


def table(scenarios: dict[str, dict], targets: dict[str, bool | None]) -> str:
    lines = [
        "| scenario | conns | rps | p50 ms | p90 ms | p99 ms | errors | ratio to ceiling "
        "| CPU us/request: api, proxy, cache, database, machine | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in scenarios.items():
        met = targets.get(name)
        verdict = "" if met is None else ("met" if met else "MISSED")
        unit = f" {result['unit']}" if "unit" in result else ""
        cells = [
            name,
            str(result["connections"]),
            f"{_figure(result, 'rps', ',.0f')}{unit}",
            _figure(result, "p50_ms", ".1f"),
            _figure(result, "p90_ms", ".1f"),
            _figure(result, "p99_ms", ".1f"),
            str(result["errors"]),
            _figure(result, "ratio_to_ceiling", ".1%"),
            _cpu(result),
            f"{verdict} {TARGETS.get(name, '')}".strip(),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def chart(scenarios: dict[str, dict], path: Path, title: str) -> None:
    names = list(scenarios)
    rates = [scenarios[name]["rps"] for name in names]
    # The spread over the repetitions as error bars (none for a single run).
    ranges = [
        scenarios[name].get("spread", {}).get("rps", (rate, rate))
        for name, rate in zip(names, rates, strict=True)
    ]
    errors = [
        [rate - low for rate, (low, _) in zip(rates, ranges, strict=True)],
        [high - rate for rate, (_, high) in zip(rates, ranges, strict=True)],
    ]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    bars = left.barh(names, rates, xerr=errors, color=["#888888", *["#3b75af"] * (len(names) - 1)])
    left.set_xscale("log")
    left.xaxis.set_minor_formatter(NullFormatter())  # labels on powers of ten only
    left.invert_yaxis()
    left.set_xlabel(
        "requests/s (links/s, clicks/s), log scale; bars: the median, lines: the spread"
    )
    for bar, name, (_, high) in zip(bars, names, ranges, strict=True):
        ratio = scenarios[name]["ratio_to_ceiling"]
        left.text(high, bar.get_y() + bar.get_height() / 2, f" {ratio:.1%}", va="center")
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


def _figures(name: str, result: dict, met: bool | None) -> dict:
    """What the JSON keeps of a scenario's result, and whether it met its target."""
    return (
        {
            key: result[key]
            for key in ("rps", "p50_ms", "p90_ms", "p99_ms", "errors", "ratio_to_ceiling")
        }
        | {"requests": result["requests"], "connections": result["connections"]}
        | {key: result.get(key) for key in CPU_KEYS}
        | {key: result[key] for key in INGEST_KEYS if key in result}
        | {key: result[key] for key in ("max_ms", "calls") if key in result}  # batches
        | ({"target_met": met} if name in TARGETS else {})
    )


def write(
    results: Path,
    repetitions: list[dict[str, dict]],
    settings: dict,
    versions: dict,
    clicks: list[dict],
) -> int:
    """The repetitions' scenarios (each with its own ceiling) and the click counts after
    each one's drain -> table, JSON, chart; the exit status the checks give (checks.py)."""
    repetitions = [with_ratios(scenarios) for scenarios in repetitions]
    scenarios = summarise(repetitions)
    judgement = judge(repetitions, scenarios, clicks)
    totals = clicks[-1]
    now = datetime.now(UTC)
    when = now.isoformat(timespec="seconds")
    document = {
        "when": when,
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "versions": versions,
        "settings": settings,
        "clicks": totals,
        # The medians over the repetitions, each with its spread: [lowest, highest].
        "scenarios": {
            name: _figures(name, result, judgement.targets.get(name)) | {"spread": result["spread"]}
            for name, result in scenarios.items()
        },
        "repetitions": [
            {
                name: _figures(name, result, target_met(name, result))
                for name, result in repetition.items()
            }
            for repetition in repetitions
        ],
        "checks": judgement.document(),
    }
    text = table(scenarios, judgement.targets)
    # Every run's JSON is kept, named by the time it was written (UTC); latest.json too.
    kept = results / f"{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    for path in (kept, results / "latest.json"):
        path.write_text(json.dumps(document, indent=2) + "\n")
    count = len(repetitions)
    medians = f", medians of {count} repetitions (lowest-highest)" if count > 1 else ""
    summary = (
        f"make bench, {when}, {os.cpu_count()} cores, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}{medians}\n\n{text}\n\n"
        f"clicks: {totals['recorded']:.0f} recorded by the api, {totals['lost']:.0f} lost, "
        f"{totals['unconfirmed']:.0f} unconfirmed, {totals['ingested']:.0f} ingested by one "
        f"worker (and {totals['synthetic']} synthetic ones added to the backlog)\n"
    )
    if "ingest-clicks" in scenarios:
        summary += _ingestion(scenarios["ingest-clicks"], repetitions)
    summary += judgement.text()
    (results / "results.md").write_text(summary)
    chart(scenarios, results / "chart.png", f"make bench, {when}, {os.cpu_count()} cores")
    print("\n" + summary)
    print(f"written: {kept}, {results}/latest.json, results.md, chart.png")
    return judgement.exit_status


def _ingestion(ingest: dict, repetitions: list[dict[str, dict]]) -> str:
    """How the ingestion figure was taken, and how far it can be off (bench/drain.py)."""
    bounds = [repetition["ingest-clicks"]["end_error_bound"] for repetition in repetitions]
    worst = None if None in bounds else max(bounds)  # each repetition's must stay under 1%
    overhead = _figure(ingest, "run_overhead_ms", ".0f")
    within = "-" if worst is None else f"{worst:.2%}"
    text = (
        f"ingestion: a backlog of {_figure(ingest, 'backlog', ',.0f')} clicks drained in "
        f"{_figure(ingest, 'seconds', '.1f')} s, {_figure(ingest, 'runs', 'g')} run(s), by "
        f"the worker's clock; a run's fixed cost {overhead} ms: each rate is within {within} "
        "of the steady one\n"
    )
    if worst is None or worst >= 0.01:
        text += "ingestion: the end error may reach 1%: raise --ingest-backlog\n"
    return text


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
