"""`make bench --repeat N` (bench/summary.py): each figure becomes the median of the
repetitions with its spread; ratios are taken within a repetition, against its own ceiling."""

import pytest

from bench.summary import spread, summarise, with_ratios


def scenarios(ceiling: float, hits: float, errors: int = 0, cpu: float | None = None) -> dict:
    return {
        "ceiling": {"rps": ceiling, "p99_ms": 20.0, "errors": 0, "requests": 100, "rounds": [1]},
        "redirect-cache-hit": {
            "rps": hits,
            "p99_ms": 90.0,
            "errors": errors,
            "requests": 10,
            "api_cpu_us": cpu,
            "unit": "requests/s",
        },
    }


def test_the_median_of_an_odd_count_is_the_middle_value_and_the_spread_its_ends() -> None:
    assert spread([3.0, 1.0, 2.0]) == (2.0, 1.0, 3.0)


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    assert spread([4.0, 1.0, 2.0, 10.0]) == (3.0, 1.0, 10.0)


def test_values_not_measured_are_left_out_and_none_measured_is_none() -> None:
    assert spread([None, 5.0, 7.0]) == (6.0, 5.0, 7.0)
    assert spread([None, None]) is None


def test_a_ratio_is_taken_against_the_ceiling_of_its_own_repetition() -> None:
    ratios = with_ratios(scenarios(ceiling=16_000, hits=3_200))
    assert ratios["ceiling"]["ratio_to_ceiling"] == 1
    assert ratios["redirect-cache-hit"]["ratio_to_ceiling"] == pytest.approx(0.2)


def test_the_median_ratio_is_the_median_of_the_ratios_not_of_the_rates() -> None:
    repetitions = [
        with_ratios(scenarios(ceiling=10_000, hits=2_000)),  # 20%
        with_ratios(scenarios(ceiling=15_000, hits=3_300)),  # 22%
        with_ratios(scenarios(ceiling=20_000, hits=3_600)),  # 18%
    ]
    hit = summarise(repetitions)["redirect-cache-hit"]
    # Not the median hits over the median ceiling (3,300 / 15,000 = 22%), which would pair
    # figures of different repetitions.
    assert hit["ratio_to_ceiling"] == pytest.approx(0.20)
    assert hit["spread"]["ratio_to_ceiling"] == pytest.approx([0.18, 0.22])
    assert hit["rps"] == 3_300
    assert hit["spread"]["rps"] == [2_000, 3_600]


def test_requests_and_errors_are_summed_over_the_repetitions() -> None:
    summary = summarise([scenarios(10, 2, errors=1), scenarios(10, 2, errors=3)])
    assert summary["redirect-cache-hit"]["errors"] == 4
    assert summary["redirect-cache-hit"]["requests"] == 20
    assert "errors" not in summary["redirect-cache-hit"]["spread"]


def test_figures_not_measured_stay_none_and_labels_stay_as_they_are() -> None:
    summary = summarise([scenarios(10, 2), scenarios(10, 3)])
    hit = summary["redirect-cache-hit"]
    assert hit["api_cpu_us"] is None
    assert "api_cpu_us" not in hit["spread"]
    assert hit["unit"] == "requests/s"
    # Lists (the rates of each round) are kept per repetition.
    assert summary["ceiling"]["rounds"] == [1]


def test_one_repetition_is_its_own_median_with_no_spread() -> None:
    hit = summarise([with_ratios(scenarios(16_000, 3_200))])["redirect-cache-hit"]
    assert hit["rps"] == 3_200
    assert "rps" not in hit["spread"]


def test_a_value_every_repetition_shares_stays_as_it_is() -> None:
    repetitions = [scenarios(10, 2) | {"x": {"connections": 64}} for _ in range(2)]
    assert summarise(repetitions)["x"] == {"connections": 64, "spread": {}}
