"""Repetitions of `make bench` (`--repeat N`) as one figure each: the median, and the spread
(lowest to highest) that says how far to trust it.

Each repetition is a whole set of scenarios with a ceiling of its own, so a ratio to the
ceiling is taken within its repetition first; the median of those ratios is then reported
(not the ratio of two medians, which could pair a ceiling and a rate of different moments).
"""

import statistics
from collections.abc import Sequence

# Totals over the repetitions rather than typical values: every request and every error
# counts once.
SUMMED = frozenset({"requests", "errors"})


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def spread(values: Sequence[float | None]) -> tuple[float, float, float] | None:
    """(median, lowest, highest) of the values given (None: not measured that time), or
    None when none was. An even count has the mean of the middle two as its median."""
    known = [value for value in values if value is not None]
    if not known:
        return None
    return statistics.median(known), min(known), max(known)


def with_ratios(scenarios: dict[str, dict]) -> dict[str, dict]:
    """Each scenario's rate as a share of the ceiling measured in the same repetition."""
    ceiling = scenarios["ceiling"]["rps"]
    return {
        name: result | {"ratio_to_ceiling": result["rps"] / ceiling}
        for name, result in scenarios.items()
    }


def summarise(repetitions: Sequence[dict[str, dict]]) -> dict[str, dict]:
    """Per scenario and figure: the median over the repetitions, its spread as
    `spread[figure] = [lowest, highest]`; requests and errors summed; a value every
    repetition shares (a setting, a unit) as it is; anything else (the rates of the
    rounds) listed per repetition."""
    summary: dict[str, dict] = {}
    for name in repetitions[0]:
        results = [repetition[name] for repetition in repetitions]
        merged: dict = {}
        spreads: dict[str, list[float]] = {}
        for key in results[0]:
            values = [result.get(key) for result in results]
            if key in SUMMED and all(is_number(value) for value in values):
                merged[key] = sum(values)
            elif all(value == values[0] for value in values):  # a setting: 64 connections
                merged[key] = values[0]
            elif all(value is None or is_number(value) for value in values):
                figures = spread(values)
                merged[key] = None if figures is None else figures[0]
                if figures is not None:
                    spreads[key] = [figures[1], figures[2]]
            elif all(value == values[0] for value in values):
                merged[key] = values[0]
            else:
                merged[key] = values
        summary[name] = merged | {"spread": spreads}
    return summary
