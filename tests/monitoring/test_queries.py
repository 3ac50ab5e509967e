"""Every PromQL expression of the dashboards (monitoring/grafana/dashboards) and of the
alert rules, run against the test stack's Prometheus: none may fail, and none may select
a metric that nothing exports (an empty panel, an alert that can never fire, which
Prometheus itself would answer without complaint). Grafana cannot run here (no registry,
no Debian package): this is what stands in for opening each dashboard."""

import pytest

from tests.monitoring.conftest import MEASURED, MONITORING, MonitoredStack, wait_until
from tests.monitoring.promql import (
    Query,
    dashboard_queries,
    instantiate,
    metric_names,
    rule_queries,
)

pytestmark = pytest.mark.e2e

# Exported only in situations this stack is not in, each checked where it is.
NOT_EXPORTED_HERE = {
    # The certificate keeper of TLS_MODE=acme (tests/tls checks its metrics).
    "shortener_tls_certificate_remaining_seconds": "TLS acme mode",
    "shortener_tls_certificate_expiry_timestamp_seconds": "TLS acme mode",
    "shortener_tls_renewal_attempts_total": "TLS acme mode",
    "shortener_tls_renewal_consecutive_failures": "TLS acme mode",
    "shortener_tls_next_renewal_timestamp_seconds": "TLS acme mode",
    # Once an archive attempt has failed (tests/backups/test_backup_metrics.py makes one).
    "shortener_backup_wal_last_failure_timestamp_seconds": "after a failed archive attempt",
}

QUERIES = dashboard_queries(MONITORING / "grafana" / "dashboards") + rule_queries(
    MONITORING / "prometheus" / "rules"
)


def test_there_are_queries_to_check() -> None:
    sources = {query.source.split(":")[0] for query in QUERIES}
    assert {"traffic.json", "latency.json", "clicks.json", "datastores.json"} <= sources
    assert "rules/alerts.yml" in sources


@pytest.fixture(scope="module")
def exported(monitored: MonitoredStack) -> set[str]:
    # Every job scraped at least once (the backup metrics need the worker's first read).
    wait_until(
        lambda: "shortener_volume_free_bytes" in monitored.metric_names(), 60, "worker scraped"
    )
    MEASURED.append(f"queries: {len(QUERIES)} dashboard and rule expressions checked")
    return monitored.metric_names()


@pytest.mark.parametrize("query", QUERIES, ids=lambda query: query.source)
def test_the_query_runs_and_selects_exported_metrics(
    monitored: MonitoredStack, exported: set[str], query: Query
) -> None:
    answer = monitored.query(instantiate(query.expr))
    assert answer["status"] == "success", f"{query.source}: {answer}"
    unknown = metric_names(query.expr) - exported - NOT_EXPORTED_HERE.keys()
    assert not unknown, f"{query.source} selects metrics nothing exports: {sorted(unknown)}"
