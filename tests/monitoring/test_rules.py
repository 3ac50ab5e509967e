"""The monitoring tier's static part: the shipped Prometheus and Alertmanager files are
valid, and every alert does what its unit tests say, without booting anything.

promtool checks prometheus.yml with the rule file where it expects it, checks alerts.yml
and runs rules.test.yml (each alert fires with its labels and rendered annotations, not
before its `for:`, and not on healthy series); amtool checks alertmanager.yml. The tools
run from the images the stack uses (PROMETHEUS_IMAGE, ALERTMANAGER_IMAGE), so their
versions are the deployed ones. A last test keeps the rules' conventions: a severity, a
summary and a runbook in docs/monitoring.md, and a unit test for every alert.
"""

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_IMAGE = os.environ.get("PROMETHEUS_IMAGE", "prom/prometheus:v2.53.3")
ALERTMANAGER_IMAGE = os.environ.get("ALERTMANAGER_IMAGE", "prom/alertmanager:v0.28.1")
PROMETHEUS = REPO / "monitoring" / "prometheus"
ALERTS = PROMETHEUS / "rules" / "alerts.yml"
UNIT_TESTS = REPO / "tests" / "monitoring" / "rules.test.yml"
SEVERITIES = {"page", "ticket"}


def run_tool(image: str, tool: str, *args: str, mounts: tuple[str, ...] = ()) -> str:
    """Run one of the image's tools on the read-only repository (as /repo, the working
    folder, so relative paths such as rules.test.yml's rule_files resolve as on a
    checkout); assert success and return the output, shown in full on failure."""
    volumes = [arg for mount in (f"{REPO}:/repo:ro", *mounts) for arg in ("-v", mount)]
    result = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", tool, *volumes, "-w", "/repo", image, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{tool} {' '.join(args)} failed:\n{output}"
    return output


def promtool(*args: str, mounts: tuple[str, ...] = ()) -> str:
    return run_tool(PROMETHEUS_IMAGE, "/bin/promtool", *args, mounts=mounts)


def amtool(*args: str) -> str:
    return run_tool(ALERTMANAGER_IMAGE, "/bin/amtool", *args)


def alerting_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_prometheus_config_is_valid_with_its_rule_files() -> None:
    # Mounted where the compose file puts them: the config's rule_files glob
    # (/etc/prometheus/rules/*.yml) must find alerts.yml, or the check would pass on none.
    output = promtool(
        "check",
        "config",
        "/etc/prometheus/prometheus.yml",
        mounts=(
            f"{PROMETHEUS / 'prometheus.yml'}:/etc/prometheus/prometheus.yml:ro",
            f"{ALERTS}:/etc/prometheus/rules/alerts.yml:ro",
        ),
    )
    assert "1 rule files found" in output, output


def test_alert_rules_are_valid() -> None:
    output = promtool("check", "rules", str(ALERTS.relative_to(REPO)))
    assert f"SUCCESS: {len(alerting_rules())} rules found" in output, output


def test_alert_rule_unit_tests_pass() -> None:
    promtool("test", "rules", str(UNIT_TESTS.relative_to(REPO)))


def test_alertmanager_config_is_valid() -> None:
    # The webhook's url_file (/run/secrets/alert_webhook_url) is read when a notification is
    # sent, not when the config loads: the check needs no secret.
    amtool("check-config", "monitoring/alertmanager/alertmanager.yml")


def unit_test_coverage() -> tuple[set[str], set[str], set[str]]:
    """The alerts rules.test.yml sees firing; silent in a case where they also fire (the
    check just before `for:` has passed); and silent all through a case (healthy series)."""
    fires: set[str] = set()
    pending: set[str] = set()
    healthy: set[str] = set()
    for case in yaml.safe_load(UNIT_TESTS.read_text())["tests"]:
        fired: set[str] = set()
        silent: set[str] = set()
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else silent).add(check["alertname"])
        fires |= fired
        pending |= fired & silent
        healthy |= silent - fired
    return fires, pending, healthy


def test_every_alert_has_severity_summary_runbook_and_unit_tests() -> None:
    fires, pending, healthy = unit_test_coverage()
    problems: list[str] = []
    for rule in alerting_rules():
        name = rule["alert"]
        severity = rule.get("labels", {}).get("severity")
        annotations = rule.get("annotations", {})
        if severity not in SEVERITIES:
            problems.append(f"{name}: severity {severity!r} is not one of {sorted(SEVERITIES)}")
        if not annotations.get("summary"):
            problems.append(f"{name}: no summary annotation")
        if annotations.get("runbook") != f"docs/monitoring.md#{name.lower()}":
            problems.append(f"{name}: runbook is not docs/monitoring.md#{name.lower()}")
        # A new alert without its unit tests fails here, not silently in production.
        for covered, what in (
            (fires, "fires"),
            (pending, "is silent before it fires"),
            (healthy, "stays silent on healthy series"),
        ):
            if name not in covered:
                problems.append(f"{name}: no case in rules.test.yml where it {what}")
    assert not problems, "\n".join(problems)
