"""`make bench`'s rounds of one wrk scenario (bench/wrk_runs.py) as one result: every
error of every round counted, by kind, for bench/checks.py to name."""

from bench.report import CPU_KEYS
from bench.wrk_runs import combine


def round_(rps: float, **errors: int) -> dict:
    kinds = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0} | errors
    return {
        "rps": rps,
        "requests": 100,
        "p50_ms": 1.0,
        "p90_ms": 2.0,
        "p99_ms": 3.0,
        "errors": sum(kinds.values()),
        "errors_by_kind": kinds,
        "connections": 64,
    } | dict.fromkeys(CPU_KEYS, 100.0)


def test_the_rounds_errors_are_summed_by_kind() -> None:
    combined = combine([round_(100, status=2), round_(300, status=1, timeout=4)])
    assert combined["errors"] == 7
    assert combined["errors_by_kind"] == {
        "connect": 0,
        "read": 0,
        "write": 0,
        "status": 3,
        "timeout": 4,
    }
    assert combined["rps"] == 200
