"""Two runs of `make bench`, before and after a change, side by side.

    make bench-compare BEFORE=bench/results/<time>.json AFTER=bench/results/<time>.json

For each scenario and figure: the medians, their spreads (lowest-highest, with
`--repeat N`), the change, and whether the spreads are apart. Overlapping spreads mean the
runs cannot tell the two apart on this machine; apart, the change is larger than the
run-to-run noise seen. Settings that differ are listed first: such runs do not compare.
"""

import argparse
import json
import sys
from pathlib import Path

# The figures compared, and whether more is better. The api's CPU time per request moves
# least when the machine is busy (docs/performance.md, "Runs on a busy machine").
FIGURES = {"ratio_to_ceiling": True, "rps": True, "p99_ms": False, "api_cpu_us": False}
# No ratio to compare: the ceiling's is 1, the others count links or clicks, not requests.
NO_RATIO = frozenset({"ceiling", "create-batch-1000", "ingest-clicks"})


def figure_range(result: dict, key: str) -> tuple[float, float, float] | None:
    """(median, lowest, highest); a run of one repetition spans its one value."""
    value = result.get(key)
    if value is None:
        return None
    low, high = result.get("spread", {}).get(key, (value, value))
    return value, low, high


def verdict(before: tuple[float, float, float], after: tuple[float, float, float]) -> str:
    """ "apart" when the spreads do not overlap, else "within the spread"."""
    _, before_low, before_high = before
    _, after_low, after_high = after
    if after_low > before_high or after_high < before_low:
        return "apart"
    return "within the spread"


def different_settings(before: dict, after: dict) -> list[str]:
    keys = sorted(set(before) | set(after))
    return [
        f"{key}: {before.get(key)} -> {after.get(key)}"
        for key in keys
        if before.get(key) != after.get(key)
    ]


def _show(key: str, figures: tuple[float, float, float]) -> str:
    value, low, high = figures
    form = {"ratio_to_ceiling": ".1%", "p99_ms": ".1f"}.get(key, ",.0f")
    if low == high:
        return format(value, form)
    return f"{value:{form}} ({low:{form}}-{high:{form}})"


def compare(before: dict, after: dict) -> str:
    lines = [
        f"before: {before['when']}, load average {before['machine']['load_average'][0]:.1f},"
        f" {before['settings'].get('repetitions', 1)} repetition(s)",
        f"after:  {after['when']}, load average {after['machine']['load_average'][0]:.1f},"
        f" {after['settings'].get('repetitions', 1)} repetition(s)",
    ]
    for difference in different_settings(before["settings"], after["settings"]):
        lines.append(f"settings differ, so the runs do not compare: {difference}")
    lines += [
        "",
        "| scenario | figure | before | after | change | spreads |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in after["scenarios"].items():
        if name not in before["scenarios"]:
            continue
        for key, more_is_better in FIGURES.items():
            old = figure_range(before["scenarios"][name], key)
            new = figure_range(result, key)
            if old is None or new is None or (key == "ratio_to_ceiling" and name in NO_RATIO):
                continue
            change = new[0] / old[0] - 1 if old[0] else float("nan")
            apart = verdict(old, new)
            if apart == "apart":
                apart += ", better" if (change > 0) == more_is_better else ", WORSE"
            cells = [name, key, _show(key, old), _show(key, new), f"{change:+.1%}", apart]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    print(compare(json.loads(args.before.read_text()), json.loads(args.after.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
