"""`make bench`'s ingestion figure (bench/drain.py): read from the worker's own totals, as
its /metrics serves them, and bounded by the fixed cost of one run."""

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily

from bench.drain import RunTotals, drain_result, run_totals


class Totals:
    """Counters named and typed as worker/shortener_worker/metrics.py serves them."""

    def __init__(self, runs: float, seconds: float, entries: float, ingested: float) -> None:
        self.values = (runs, seconds, entries, ingested)

    def collect(self) -> list[CounterMetricFamily]:
        runs, seconds, entries, ingested = self.values
        events = CounterMetricFamily(
            "shortener_worker_click_events", "by outcome", labels=["outcome"]
        )
        events.add_metric(["ingested"], ingested)
        events.add_metric(["duplicates"], 7)
        return [
            events,
            CounterMetricFamily("shortener_worker_click_ingest_runs", "runs", value=runs),
            CounterMetricFamily("shortener_worker_click_ingest_seconds", "s", value=seconds),
            CounterMetricFamily("shortener_worker_click_ingest_entries", "e", value=entries),
        ]


def scrape(*values: float) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Totals(*values))
    return generate_latest(registry).decode()


def test_the_totals_are_read_from_a_scrape() -> None:
    text = scrape(3, 12.345678, 300_001, 299_990)
    assert "shortener_worker_click_ingest_seconds_total 12.345678" in text
    assert run_totals(text) == RunTotals(
        runs=3, seconds=12.345678, entries=300_001, ingested=299_990
    )


def test_a_worker_without_the_run_totals_is_named_not_read_as_zero() -> None:
    text = scrape(1, 1, 1, 1).replace("shortener_worker_click_ingest_seconds", "other")
    with pytest.raises(ValueError, match="shortener_worker_click_ingest_seconds_total"):
        run_totals(text)


BEFORE = RunTotals(runs=2, seconds=1.5, entries=1_000, ingested=990)


def test_the_rate_is_the_drains_entries_over_its_seconds_by_the_workers_clock() -> None:
    drained = RunTotals(runs=3, seconds=11.5, entries=301_000, ingested=300_990)
    probed = RunTotals(runs=4, seconds=11.52, entries=301_001, ingested=300_991)
    result = drain_result(BEFORE, drained, probed, backlog=300_000, synthetic=200_000)
    assert result["rps"] == pytest.approx(30_000)
    assert result["requests"] == 300_000
    assert result["seconds"] == pytest.approx(10)
    assert result["runs"] == 1
    assert result["errors"] == 0
    # One run of one click took 20 ms: the drain's error is at most 20 ms in 10 s.
    assert result["run_overhead_ms"] == pytest.approx(20)
    assert result["end_error_bound"] == pytest.approx(0.002)
    assert (result["backlog"], result["synthetic"]) == (300_000, 200_000)


def test_clicks_of_the_backlog_not_stored_are_errors() -> None:
    drained = RunTotals(runs=3, seconds=11.5, entries=301_000, ingested=300_980)
    probed = RunTotals(runs=4, seconds=11.52, entries=301_001, ingested=300_981)
    result = drain_result(BEFORE, drained, probed, backlog=300_000, synthetic=0)
    assert result["errors"] == 10


def test_no_bound_without_exactly_one_probe_run() -> None:
    drained = RunTotals(runs=3, seconds=11.5, entries=301_000, ingested=300_990)
    result = drain_result(BEFORE, drained, drained, backlog=300_000, synthetic=0)
    assert result["run_overhead_ms"] is None
    assert result["end_error_bound"] is None
