"""How `make bench` judges a run (bench/checks.py): a failed correctness check, in any
repetition, fails the run; a missed speed target is reported and does not."""

import json
from pathlib import Path

import pytest

from bench import report
from bench.checks import CHECK_FAILED, Judgement, judge
from bench.drain import RunTotals, drain_result
from bench.summary import summarise, with_ratios

NO_ERRORS = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}


def wrk_result(rps: float, p99_ms: float = 10.0, **errors: int) -> dict:
    kinds = NO_ERRORS | errors
    return {
        "rps": rps,
        "requests": 1000,
        "p50_ms": 1.0,
        "p90_ms": 5.0,
        "p99_ms": p99_ms,
        "errors": sum(kinds.values()),
        "errors_by_kind": kinds,
        "connections": 64,
    }


def repetition(
    hit_p99_ms: float = 10.0, slowest_batch_ms: float = 150.0, ingest_rps: float = 30_000
) -> dict[str, dict]:
    """A repetition that passes every check and meets every target, unless told."""
    return {
        "ceiling": wrk_result(15_000),
        "redirect-cache-hit": wrk_result(3_300, p99_ms=hit_p99_ms),  # 22% of the ceiling
        "redirect-cache-miss": wrk_result(1_200),
        "create-single": wrk_result(700),
        "create-batch-1000": {
            "rps": 8_000,
            "requests": 8,
            "p50_ms": 120.0,
            "p90_ms": 140.0,
            "p99_ms": slowest_batch_ms,
            "max_ms": slowest_batch_ms,
            "errors": 0,
            "calls": 9,
            "connections": 1,
            "unit": "links/s",
        },
        "ingest-clicks": ingest_result(ingest_rps),
    }


def ingest_result(rps: float, not_stored: int = 0) -> dict:
    """A drain of 300,000 entries at `rps`, as bench/drain.py figures it."""
    seconds = 300_000 / rps
    before = RunTotals(runs=0, seconds=0, entries=0, ingested=0)
    drained = RunTotals(runs=1, seconds=seconds, entries=300_000, ingested=300_000 - not_stored)
    probed = RunTotals(runs=2, seconds=seconds + 0.02, entries=300_001, ingested=drained.ingested)
    return drain_result(before, drained, probed, backlog=300_000, synthetic=250_000)


def clicks(recorded: float, ingested: float, lost: float = 0, unconfirmed: float = 0) -> dict:
    """Running totals after a repetition, as bench/measure.py reads them."""
    return {
        "recorded": recorded,
        "lost": lost,
        "unconfirmed": unconfirmed,
        "ingested": ingested,
        "synthetic": 200_000,
    }


def run(repetitions: list[dict[str, dict]], counts: list[dict] | None = None) -> Judgement:
    repetitions = [with_ratios(scenarios) for scenarios in repetitions]
    if counts is None:
        counts = [clicks(50_000 * n, 50_000 * n) for n in range(1, len(repetitions) + 1)]
    return judge(repetitions, summarise(repetitions), counts)


def failures(judgement: Judgement) -> list[tuple[int, str, str]]:
    return [(check.repetition, check.what, check.seen) for check in judgement.failed]


def test_a_clean_run_passes_every_check_and_exits_0() -> None:
    judgement = run([repetition()])
    assert judgement.failed == []
    assert judgement.exit_status == 0
    assert all(judgement.targets.values())
    assert "checks: all 8 passed" in judgement.text()
    assert "speed targets (reported, never a failure): all met" in judgement.text()


@pytest.mark.parametrize(
    "scenario", ["ceiling", "redirect-cache-hit", "redirect-cache-miss", "create-single"]
)
def test_a_wrk_error_in_any_wrk_scenario_fails_the_run(scenario: str) -> None:
    failing = repetition()
    failing[scenario] = wrk_result(failing[scenario]["rps"], status=2, timeout=1)
    judgement = run([failing])
    assert failures(judgement) == [
        (1, f"{scenario}: no errors", "3 errors (status >= 400: 2, timeout: 1)")
    ]
    assert judgement.exit_status == CHECK_FAILED
    assert f"FAILED {scenario}: no errors: 3 errors" in judgement.text()


def test_a_failed_batch_call_fails_the_run() -> None:
    failing = repetition()
    failing["create-batch-1000"]["errors"] = 1
    judgement = run([failing])
    assert failures(judgement) == [
        (1, "create-batch-1000: every call created its links", "1 of 9 calls failed")
    ]
    assert judgement.exit_status == CHECK_FAILED


def test_backlog_entries_not_stored_fail_the_run() -> None:
    failing = repetition()
    failing["ingest-clicks"] = ingest_result(30_000, not_stored=10)
    judgement = run([failing])
    assert failures(judgement) == [
        (1, "ingest-clicks: every backlog entry stored once", "10 of 300,000 entries not stored")
    ]
    assert judgement.exit_status == CHECK_FAILED


def test_clicks_recorded_but_not_ingested_fail_the_run() -> None:
    judgement = run([repetition()], [clicks(50_000, 49_990)])
    assert failures(judgement) == [
        (
            1,
            "clicks: recorded by the api = ingested by the worker",
            "10 of 50,000 recorded clicks not ingested",
        )
    ]
    assert judgement.exit_status == CHECK_FAILED


def test_clicks_ingested_twice_fail_the_run() -> None:
    judgement = run([repetition()], [clicks(50_000, 50_110)])
    assert failures(judgement) == [
        (
            1,
            "clicks: recorded by the api = ingested by the worker",
            "110 more ingested than 50,000 recorded",
        )
    ]
    assert judgement.exit_status == CHECK_FAILED


def test_clicks_the_api_lost_fail_the_run() -> None:
    judgement = run([repetition()], [clicks(50_000, 50_000, lost=56)])
    assert failures(judgement) == [(1, "clicks: none lost by the api", "56 lost")]
    assert judgement.exit_status == CHECK_FAILED


def test_an_unconfirmed_click_may_be_ingested_once_but_not_twice() -> None:
    # Sent, never answered: Redis may have applied it (api/shortener/clicks/record.py).
    assert run([repetition()], [clicks(50_000, 50_000, unconfirmed=2)]).exit_status == 0
    assert run([repetition()], [clicks(50_000, 50_002, unconfirmed=2)]).exit_status == 0
    judgement = run([repetition()], [clicks(50_000, 50_003, unconfirmed=2)])
    assert failures(judgement) == [
        (
            1,
            "clicks: recorded by the api = ingested by the worker",
            "3 more ingested than 50,000 recorded (2 unconfirmed: each may be ingested once)",
        )
    ]


def test_every_repetition_counts_though_the_totals_come_out_even() -> None:
    # 10 clicks short after the first repetition, 10 over in the second: equal in the end.
    counts = [clicks(50_000, 49_990), clicks(100_000, 100_000), clicks(150_000, 150_000)]
    judgement = run([repetition(), repetition(), repetition()], counts)
    assert [(number, seen) for number, _, seen in failures(judgement)] == [
        (1, "10 of 50,000 recorded clicks not ingested"),
        (2, "10 more ingested than 50,000 recorded"),
    ]
    assert "FAILED [2/3] clicks: recorded by the api = ingested by the worker" in (judgement.text())


def test_an_error_in_one_repetition_fails_the_run_of_several() -> None:
    failing = repetition()
    failing["redirect-cache-miss"] = wrk_result(1_200, connect=1)
    judgement = run([repetition(), failing, repetition()])
    assert failures(judgement) == [(2, "redirect-cache-miss: no errors", "1 error (connect: 1)")]
    assert judgement.exit_status == CHECK_FAILED


def test_missed_speed_targets_are_reported_and_do_not_fail_the_run() -> None:
    slow = repetition(hit_p99_ms=90.0, slowest_batch_ms=650.0, ingest_rps=8_000)
    slow["redirect-cache-miss"]["rps"] = 300.0  # 2% of the ceiling
    judgement = run([slow])
    assert judgement.failed == []
    assert judgement.exit_status == 0
    assert judgement.targets == {
        "redirect-cache-hit": False,
        "redirect-cache-miss": False,
        "create-batch-1000": False,
        "ingest-clicks": False,
    }
    assert "missed: redirect-cache-hit, redirect-cache-miss, create-batch-1000, ingest-clicks" in (
        judgement.text()
    )


def test_the_batch_target_holds_for_every_call_not_the_median() -> None:
    # One call of 650 ms among fast ones: the median (120 ms) meets 500 ms, the run does not.
    judgement = run([repetition(slowest_batch_ms=650.0)])
    assert judgement.targets["create-batch-1000"] is False
    assert judgement.exit_status == 0


def test_the_batch_target_holds_for_every_call_of_every_repetition() -> None:
    # The median of the slowest calls (150 ms) meets it; the third repetition's call not.
    repetitions = [repetition(), repetition(), repetition(slowest_batch_ms=650.0)]
    assert run(repetitions).targets["create-batch-1000"] is False
    assert run([repetition(), repetition()]).targets["create-batch-1000"] is True


def test_the_json_keeps_every_check_and_the_exit_status() -> None:
    judgement = run([repetition()], [clicks(50_000, 50_000, lost=1)])
    document = judgement.document()
    assert document["passed"] is False
    assert document["exit_status"] == CHECK_FAILED
    assert len(document["checks"]) == 8
    assert {
        "what": "clicks: none lost by the api",
        "seen": "1 lost",
        "passed": False,
        "repetition": 1,
    } in document["checks"]


def test_the_report_prints_the_failed_check_and_returns_its_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = repetition(hit_p99_ms=90.0)  # a speed target missed: reported only
    assert report.write(tmp_path, [slow], {}, {}, [clicks(50_000, 50_000)]) == 0
    assert "MISSED ratio >= 0.20" in capsys.readouterr().out

    failing = repetition()
    failing["redirect-cache-hit"] = wrk_result(3_300, status=5)
    status = report.write(tmp_path, [failing], {}, {}, [clicks(50_000, 50_000)])
    assert status == CHECK_FAILED
    out = capsys.readouterr().out
    assert "FAILED redirect-cache-hit: no errors: 5 errors (status >= 400: 5)" in out
    latest = json.loads((tmp_path / "latest.json").read_text())
    assert latest["checks"]["exit_status"] == CHECK_FAILED
    assert "FAILED redirect-cache-hit" in (tmp_path / "results.md").read_text()
