"""`make bench-compare` (bench/compare.py): two runs' medians side by side, a change called
apart only when the spreads do not overlap."""

from bench.compare import compare, different_settings, figure_range, verdict


def run(when: str, ratio: float, spread: list[float] | None, **settings: object) -> dict:
    hit = {"rps": 3000.0, "ratio_to_ceiling": ratio, "p99_ms": 90.0}
    if spread is not None:
        hit["spread"] = {"ratio_to_ceiling": spread}
    return {
        "when": when,
        "machine": {"load_average": [1.0, 1.0, 1.0]},
        "settings": {"duration_s": 10, "repetitions": 3} | settings,
        "scenarios": {"ceiling": {"rps": 15000.0, "ratio_to_ceiling": 1.0}, "hit": hit},
    }


def test_a_run_of_one_repetition_spans_its_one_value() -> None:
    assert figure_range({"rps": 5.0}, "rps") == (5.0, 5.0, 5.0)
    assert figure_range({"rps": 5.0, "spread": {"rps": [4, 6]}}, "rps") == (5.0, 4, 6)
    assert figure_range({"p99_ms": None}, "p99_ms") is None


def test_only_spreads_that_do_not_overlap_are_apart() -> None:
    assert verdict((0.20, 0.19, 0.21), (0.22, 0.215, 0.23)) == "apart"
    assert verdict((0.20, 0.19, 0.21), (0.18, 0.17, 0.185)) == "apart"
    assert verdict((0.20, 0.19, 0.21), (0.205, 0.20, 0.22)) == "within the spread"


def test_settings_that_differ_are_named() -> None:
    assert different_settings({"duration_s": 10, "threads": 1}, {"duration_s": 20}) == [
        "duration_s: 10 -> 20",
        "threads: 1 -> None",
    ]


def test_a_drop_beyond_the_spreads_is_called_worse() -> None:
    text = compare(
        run("before", 0.20, [0.19, 0.21]), run("after", 0.17, [0.16, 0.18], duration_s=20)
    )
    assert "settings differ, so the runs do not compare: duration_s: 10 -> 20" in text
    assert "| hit | ratio_to_ceiling | 20.0% (19.0%-21.0%) | 17.0% (16.0%-18.0%) | -15.0% |" in text
    assert text.splitlines()[-3].endswith("| apart, WORSE |")
    # The ceiling's ratio to itself is no figure; its rate is.
    assert "| ceiling | ratio_to_ceiling |" not in text
    assert "| ceiling | rps | 15,000 | 15,000 | +0.0% | within the spread |" in text


def test_old_runs_without_spreads_still_compare() -> None:
    text = compare(run("before", 0.20, None), run("after", 0.205, [0.19, 0.22]))
    assert (
        "| hit | ratio_to_ceiling | 20.0% | 20.5% (19.0%-22.0%) | +2.5% | within the spread |"
        in text
    )
