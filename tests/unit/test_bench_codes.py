"""`make bench --repeat N` (bench/codes.py FreshCodes): each repetition's cache misses ask
codes no earlier one asked, and the hit codes are all asked once before hits are measured."""

from pathlib import Path

from bench.codes import FreshCodes


def lines(path: Path) -> list[str]:
    return path.read_text().split()


def test_each_repetition_asks_codes_never_asked_before(tmp_path: Path) -> None:
    hits = [f"h{n}" for n in range(10)]
    misses = [f"m{n}" for n in range(100)]
    fresh = FreshCodes(hits, misses)

    assert lines(fresh.write(tmp_path / "first")) == hits + misses
    # 30 answered, up to 4 more in flight when wrk stopped: the first 34 are used up.
    assert fresh.asked(30, connections=4) == []
    assert lines(fresh.write(tmp_path / "second")) == misses[24:]


def test_hit_codes_a_slow_run_did_not_reach_are_handed_back_once(tmp_path: Path) -> None:
    hits = [f"h{n}" for n in range(10)]
    fresh = FreshCodes(hits, [f"m{n}" for n in range(100)])
    assert fresh.asked(5, connections=2) == hits[7:]
    # Asked by the caller now: the next repetition starts with the miss codes.
    assert lines(fresh.write(tmp_path / "next"))[0] == "m0"
