"""tests/monitoring/promql.py: the PromQL read out of dashboards and rule files, Grafana's
variables replaced, and the metric names an expression selects."""

import json
from pathlib import Path

import pytest

from tests.monitoring.promql import (
    Query,
    dashboard_queries,
    instantiate,
    metric_names,
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
