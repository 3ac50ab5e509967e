"""tests/monitoring/promql.py: the PromQL read out of dashboards and rule files, Grafana's
variables replaced, and the metric names an expression selects; then the dashboards'
shape, and their metric names against the list of those exported."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.monitoring.promql import (
    BUILT_IN,
    Query,
    dashboard_queries,
    instantiate,
    metric_names,
    panels,
    rule_queries,
)


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        # Braces inside a label value's string are not matchers.
        (
            'histogram_quantile(0.99, sum by (le) (rate(x_bucket{route="/{code}"}[5m])))',
            {"x_bucket"},
        ),
        ('label_values(up{job="api"}, instance)', {"up"}),
        ("label_values(instance)", set()),
        ("time() - max(x)", {"x"}),
        ('absent(up{job="worker"} == 1)', {"up"}),
        ("sum without (instance) (rate(y[5m]))", {"y"}),
        ("sum(rate(y[5m])) by (le, route)", {"y"}),
        ("a / on (job) group_left b", {"a", "b"}),
        ("a * on (job) group_right (version) b", {"a", "b"}),
        ("a / ignoring (result) group_left sum(b)", {"a", "b"}),
        ("x offset 5m", {"x"}),
        ("x offset -1h30m", {"x"}),
        ('count(up{job="api"} == 1)', {"up"}),
        ("1 - (a / b)", {"a", "b"}),
        ('{__name__="x", job="api"}', {"x"}),
        ("{'x'}", {"x"}),  # Prometheus 3's quoted name
        ('{__name__=~"x.*"}', set()),  # a pattern names no one metric
        ("a > bool 0 and b or c unless d", {"a", "b", "c", "d"}),
        ("a atan2 b", {"a", "b"}),
        ("SUM BY (le) (rate(x[1m]))", {"x"}),  # keywords in capitals
        ('label_replace(up, "class", "${1}xx", "status", "(.)..")', {"up"}),
        ("topk(5, sum by (cmd) (rate(c[1m]))) or vector(0)", {"c"}),
        ("max_over_time(x[1h:5m]) @ end()", {"x"}),
        ("rule:rate5m * 1e3 + NaN - Inf", {"rule:rate5m"}),
        ('rate(x{instance=~"$instance"}[$__rate_interval])', {"x"}),  # not yet instantiated
        ("# a comment\nx", {"x"}),
    ],
)
def test_metric_names_are_the_selectors_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


@pytest.mark.parametrize("expr", ["sum(rate(x[5m])", "x{job='api'", "rate(x[5m)]"])
def test_unpaired_brackets_are_an_error(expr: str) -> None:
    with pytest.raises(ValueError, match="in"):
        metric_names(expr)


@pytest.mark.parametrize(
    ("expr", "runnable"),
    [
        ("rate(x[$__rate_interval])", "rate(x[1m])"),
        ("rate(x[$__interval]) offset ${__interval}", "rate(x[1m]) offset 1m"),
        ("increase(x[$__range])", "increase(x[1h])"),
        ('x{instance=~"$instance"}', 'x{instance=~".*"}'),
        ('x{instance=~"${instance}", a=~"${replica:regex}"}', 'x{instance=~".*", a=~".*"}'),
        ('x{instance=~"[[instance]]"}', 'x{instance=~".*"}'),
        # label_replace's $1 is not a variable.
        ('label_replace(x, "a", "$1", "b", "(.*)")', 'label_replace(x, "a", "$1", "b", "(.*)")'),
    ],
)
def test_instantiate_replaces_grafanas_variables(expr: str, runnable: str) -> None:
    assert instantiate(expr) == runnable


def test_dashboard_queries_include_rows_panels_and_variables(tmp_path: Path) -> None:
    board = {
        "panels": [
            {"title": "Rate", "targets": [{"refId": "A", "expr": "rate(a[1m])"}]},
            {
                "type": "row",
                "title": "Collapsed",
                "panels": [
                    {
                        "title": "Pair",
                        "targets": [
                            {"refId": "A", "expr": "b"},
                            {"refId": "B", "expr": "c"},
                        ],
                    }
                ],
            },
        ],
        "templating": {
            "list": [
                {
                    "name": "instance",
                    "type": "query",
                    "query": 'label_values(up{job="api"}, instance)',
                },
                {"name": "db", "type": "query", "query": {"query": "label_values(pg_up, datname)"}},
                {"name": "label", "type": "query", "query": "label_values(job)"},
                {"name": "window", "type": "interval", "query": "1m,5m"},
            ]
        },
    }
    (tmp_path / "board.json").write_text(json.dumps(board))
    assert dashboard_queries(tmp_path) == [
        Query("board.json: Rate", "rate(a[1m])"),
        Query("board.json: Pair (A)", "b"),
        Query("board.json: Pair (B)", "c"),
        Query("board.json: $instance", 'up{job="api"}'),
        Query("board.json: $db", "pg_up"),
    ]


def test_rule_queries_read_alerting_and_recording_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "shortener.yml").write_text(
        """
groups:
  - name: api
    rules:
      - record: job:requests:rate5m
        expr: sum by (job) (rate(x[5m]))
      - alert: ApiDown
        expr: absent(up{job="api"} == 1)
        for: 1m
  - name: empty
    rules: []
"""
    )
    (rules / "shortener_test.yaml").write_text("rule_files: [shortener.yml]\ntests: []\n")
    assert rule_queries(rules) == [
        Query("rules/shortener.yml: job:requests:rate5m", "sum by (job) (rate(x[5m]))"),
        Query("rules/shortener.yml: ApiDown", 'absent(up{job="api"} == 1)'),
    ]


# ---------------------------------------------------------------------------------------
# The dashboards themselves (monitoring/grafana/dashboards): what can be checked without a
# Grafana or a Prometheus. The live test runs their queries.

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "monitoring" / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
# The error ratio alert's expression, with Grafana's window for its 5m: the panel shows what
# the alert judges.
ERROR_RATIO = (
    'sum(rate(shortener_http_requests_total{route!="/health/ready",status=~"5.."}'
    "[$__rate_interval]))"
    ' / sum(rate(shortener_http_requests_total{route!="/health/ready"}[$__rate_interval]))'
)

# Every metric the dashboards may use, as Prometheus stores it: a typo fails here rather
# than as an empty panel. Where each comes from:
KNOWN_METRICS = {
    "up",
    # api (api/shortener/metrics.py, clicks/metrics.py, links/metrics.py), and
    # prometheus_client's process collector
    "shortener_http_requests_total",
    "shortener_http_request_duration_seconds_bucket",
    "shortener_http_request_duration_seconds_sum",
    "shortener_http_request_duration_seconds_count",
    "shortener_link_cache_lookups_total",
    "shortener_clicks_recorded_total",
    "shortener_clicks_lost_total",
    "shortener_clicks_unconfirmed_total",
    "shortener_click_stream_entries",
    "shortener_click_dead_letters",
    "shortener_click_stream_oldest_age_seconds",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "process_open_fds",
    # worker (worker/shortener_worker/metrics.py, backup_metrics.py; volumes)
    "shortener_worker_redis_up",
    "shortener_worker_jobs_total",
    "shortener_worker_click_events_total",
    "shortener_worker_queue_jobs",
    "shortener_worker_click_ingest_runs_total",
    "shortener_worker_click_ingest_seconds_total",
    "shortener_worker_click_ingest_entries_total",
    "shortener_worker_click_stream_entries",
    "shortener_worker_click_stream_pending",
    "shortener_worker_click_stream_oldest_age_seconds",
    "shortener_worker_click_dead_letters",
    "shortener_worker_click_stream_lag",
    "shortener_backup_status_up",
    "shortener_backup_repository_ok",
    "shortener_backup_sets",
    "shortener_backup_last_completed_timestamp_seconds",
    "shortener_backup_wal_archived_total",
    "shortener_backup_wal_archive_failures_total",
    "shortener_backup_wal_last_archived_timestamp_seconds",
    "shortener_backup_wal_last_failure_timestamp_seconds",
    "shortener_volume_free_bytes",
    "shortener_volume_size_bytes",
    # certificate keeper, TLS acme mode only (certs/shortener_certs/metrics.py)
    "shortener_tls_certificate_remaining_seconds",
    "shortener_tls_certificate_expiry_timestamp_seconds",
    "shortener_tls_renewal_attempts_total",
    "shortener_tls_renewal_consecutive_failures",
    "shortener_tls_next_renewal_timestamp_seconds",
    # postgres_exporter 0.17, default collectors
    "pg_up",
    "pg_stat_activity_count",
    "pg_settings_max_connections",
    "pg_stat_database_xact_commit",
    "pg_stat_database_xact_rollback",
    "pg_stat_database_blks_hit",
    "pg_stat_database_blks_read",
    "pg_stat_database_deadlocks",
    "pg_database_size_bytes",
    "pg_locks_count",
    # redis_exporter 1.69
    "redis_up",
    "redis_connected_clients",
    "redis_blocked_clients",
    "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "redis_commands_processed_total",
    "redis_commands_duration_seconds_total",
    "redis_keyspace_hits_total",
    "redis_keyspace_misses_total",
    "redis_aof_last_bgrewrite_status",
    "redis_rdb_last_bgsave_status",
    "redis_db_keys",
    # nginx-prometheus-exporter 1.4 (stub_status)
    "nginx_up",
    "nginx_connections_active",
    "nginx_connections_accepted",
    "nginx_connections_handled",
    "nginx_connections_reading",
    "nginx_connections_writing",
    "nginx_connections_waiting",
    "nginx_http_requests_total",
}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


BOARDS = sorted(DASHBOARDS.glob("*.json"))


def board_id(path: Path) -> str:
    return path.name


def test_the_four_dashboards_are_there() -> None:
    assert [path.stem for path in BOARDS] == ["clicks", "datastores", "latency", "traffic"]


def test_dashboard_uids_are_unique_and_stable() -> None:
    uids = [load(path)["uid"] for path in BOARDS]
    assert uids == [f"shortener-{path.stem}" for path in BOARDS]


@pytest.mark.parametrize("path", BOARDS, ids=board_id)
def test_a_dashboard_has_the_common_settings(path: Path) -> None:
    board = load(path)
    assert board["title"]
    assert board["tags"] == ["shortener"]
    assert board["time"] == {"from": "now-1h", "to": "now"}
    assert board["refresh"] == "30s"
    assert board["schemaVersion"] >= 39


@pytest.mark.parametrize("path", BOARDS, ids=board_id)
def test_panel_ids_are_unique(path: Path) -> None:
    ids = [panel["id"] for panel in panels(load(path))]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", BOARDS, ids=board_id)
def test_every_panel_queries_prometheus_and_says_what_it_shows(path: Path) -> None:
    for panel in panels(load(path)):
        if panel["type"] == "row":
            assert "datasource" not in panel and "targets" not in panel
            continue
        assert panel["type"] in {"timeseries", "stat", "gauge"}, panel["title"]
        assert panel.get("description", "").strip(), f"{panel['title']}: no description"
        assert panel.get("datasource", DATASOURCE) == DATASOURCE, panel["title"]
        assert panel["targets"], f"{panel['title']}: no query"
        for target in panel["targets"]:
            assert target.get("datasource", DATASOURCE) == DATASOURCE, panel["title"]
            assert target.get("expr", "").strip(), f"{panel['title']} {target['refId']}: no expr"
            assert "legendFormat" in target, panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]


@pytest.mark.parametrize("path", BOARDS, ids=board_id)
def test_panels_fit_the_grid_without_overlapping(path: Path) -> None:
    taken: dict[tuple[int, int], str] = {}
    for panel in panels(load(path)):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in taken, f"{panel['title']} overlaps {taken[(x, y)]}"
                taken[(x, y)] = panel["title"]


@pytest.mark.parametrize("path", BOARDS, ids=board_id)
def test_every_variable_used_is_defined(path: Path) -> None:
    board = load(path)
    defined = {variable["name"] for variable in board.get("templating", {}).get("list", [])}
    used = {
        name
        for query in dashboard_queries(DASHBOARDS)
        if query.source.startswith(f"{path.name}: ")
        for name in re.findall(r"\$\{?(\w+)", query.expr)
        if not name.isdigit()
    }
    assert used - set(BUILT_IN) <= defined


def test_every_query_selects_known_metrics_only() -> None:
    unknown = {
        query.source: sorted(metric_names(instantiate(query.expr)) - KNOWN_METRICS)
        for query in dashboard_queries(DASHBOARDS)
    }
    assert {source: names for source, names in unknown.items() if names} == {}


def test_every_query_selects_a_metric() -> None:
    empty = [
        query.source
        for query in dashboard_queries(DASHBOARDS)
        if not metric_names(instantiate(query.expr))
    ]
    assert empty == []


def test_the_error_ratio_panel_shows_the_alerts_expression() -> None:
    traffic = {query.source: query.expr for query in dashboard_queries(DASHBOARDS)}
    assert traffic["traffic.json: 5xx ratio"] == ERROR_RATIO


def test_grafana_provisions_the_datasource_the_panels_name() -> None:
    provisioning = GRAFANA / "provisioning"
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    [source] = sources["datasources"]
    assert {"type": source["type"], "uid": source["uid"]} == DATASOURCE
    assert source["url"] == "http://prometheus:9090"
    assert source["isDefault"] is True and source["editable"] is False
    providers = yaml.safe_load((provisioning / "dashboards" / "shortener.yml").read_text())
    [provider] = providers["providers"]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    assert provider["folder"] == "Shortener"
    assert provider["allowUiUpdates"] is False
