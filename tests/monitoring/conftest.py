"""The monitoring tier: the production variant with docker-compose.monitoring.yml, one
stack for the session, and a test override (written here) that only makes time shorter:
Prometheus scrapes every 5 s and evaluates every second and looks replicas up every 2 s, every
alert's `for:` is 5 s, Alertmanager groups for 1 s; the expressions and thresholds are the
shipped ones. A receiver on the monitoring network records what Alertmanager sends.

Tests that make a fault restore what they broke before the next one starts.
"""

import base64
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.stack import REPO, Stack, make_secrets, run

MONITORING = REPO / "monitoring"
FILES = [
    REPO / "docker-compose.yml",
    REPO / "docker-compose.prod.yml",
    REPO / "docker-compose.monitoring.yml",
]
# Stand-in name -> the variable naming its image (scripts/standins/build.sh).
MONITORING_STANDINS = {
    "prometheus": "PROMETHEUS_IMAGE",
    "alertmanager": "ALERTMANAGER_IMAGE",
    "postgres-exporter": "POSTGRES_EXPORTER_IMAGE",
    "redis-exporter": "REDIS_EXPORTER_IMAGE",
    "nginx-exporter": "NGINX_EXPORTER_IMAGE",
}
# What the test override shortens (see the module docstring).
TEST_FOR = "5s"

MEASURED: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MEASURED:
        terminalreporter.section("measured (docs/monitoring.md)")
        for line in MEASURED:
            terminalreporter.write_line(line)


def fast_copies(folder: Path) -> dict[str, Path]:
    """The shipped Prometheus and Alertmanager files with shorter times, written to folder."""
    prometheus = yaml.safe_load((MONITORING / "prometheus" / "prometheus.yml").read_text())
    # Scrapes every 5 s: what a scrape may wait for a store that is gone must fit in it
    # (the exporters' 2 s connect timeouts, twice for Postgres'; the worker's 3 s per store).
    prometheus["global"].update(scrape_interval="5s", scrape_timeout="5s", evaluation_interval="1s")
    for job in prometheus["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            sd["refresh_interval"] = "2s"
    alerts = yaml.safe_load((MONITORING / "prometheus" / "rules" / "alerts.yml").read_text())
    for group in alerts["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = TEST_FOR
    manager = yaml.safe_load((MONITORING / "alertmanager" / "alertmanager.yml").read_text())
    manager["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")
    copies = {
        "prometheus_config": (folder / "prometheus.yml", prometheus),
        "prometheus_alerts": (folder / "alerts.yml", alerts),
        "alertmanager_config": (folder / "alertmanager.yml", manager),
    }
    for path, document in copies.values():
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    return {name: path for name, (path, _) in copies.items()}


def test_override(folder: Path) -> Path:
    """The faster copies in place of the shipped files, and the alert receiver."""
    override = {
        "services": {
            "alert-receiver": {
                "image": os.environ.get("PYTHON_IMAGE", "python:3.13-slim-trixie"),
                "command": ["python", "/receiver.py"],
                "volumes": [f"{REPO / 'tests' / 'receiver.py'}:/receiver.py:ro"],
                # monitoring: where Alertmanager sends; monitoring-ui: published for the test.
                "networks": ["monitoring", "monitoring-ui"],
                "ports": ["127.0.0.1::8080"],
            }
        },
        "configs": {name: {"file": str(path)} for name, path in fast_copies(folder).items()},
    }
    path = folder / "monitoring-test.yml"
    path.write_text(yaml.safe_dump(override, sort_keys=False))
    return path


class MonitoredStack(Stack):
    """The stack, plus what the tests ask of Prometheus, Alertmanager and the receiver."""

    @property
    def env(self) -> dict[str, str]:
        # Ephemeral host ports (loopback) for the UIs: no clash with a developer's stack.
        return {**super().env, "PROMETHEUS_PORT": "", "ALERTMANAGER_PORT": ""}

    def published(self, service: str, port: int) -> str:
        address = self.compose("port", service, str(port)).strip().splitlines()[-1]
        assert address.startswith("127.0.0.1:"), f"{service} must publish on loopback only"
        return f"http://{address}"

    def query(self, expr: str) -> dict[str, Any]:
        """Prometheus' answer to an instant query: its whole JSON document, errors included."""
        reply = httpx.get(
            f"{self.published('prometheus', 9090)}/api/v1/query", params={"query": expr}, timeout=10
        )
        return reply.json()

    def values(self, expr: str) -> list[float]:
        answer = self.query(expr)
        assert answer["status"] == "success", answer
        return [float(sample["value"][1]) for sample in answer["data"]["result"]]

    def metric_names(self) -> set[str]:
        reply = httpx.get(
            f"{self.published('prometheus', 9090)}/api/v1/label/__name__/values", timeout=10
        )
        return set(reply.json()["data"])

    def notifications(self) -> list[dict[str, Any]]:
        """Everything the receiver got, oldest first: {received_at, payload}."""
        notes = httpx.get(f"{self.published('alert-receiver', 8080)}/", timeout=10).json()
        return [
            {
                "received_at": note["received_at"],
                "payload": json.loads(base64.b64decode(note["body"])),
            }
            for note in notes
        ]

    def wait_for_notification(
        self, alertname: str, status: str, after: float, timeout: float
    ) -> float:
        """The time the receiver got the first `status` (firing/resolved) notification naming
        `alertname` after the Unix time `after`; fails after `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for note in self.notifications():
                payload = note["payload"]
                if note["received_at"] >= after and any(
                    alert["labels"]["alertname"] == alertname and alert["status"] == status
                    for alert in payload["alerts"]
                ):
                    return note["received_at"]
            time.sleep(1)
        firing = [alert["metric"] for alert in self.query("ALERTS")["data"]["result"]]
        logs = self.compose("logs", "--tail", "30", "alertmanager", "prometheus", check=False)
        raise AssertionError(
            f"no {status} notification for {alertname} in {timeout} s; "
            f"ALERTS: {json.dumps(firing)}\n{logs}"
        )

    def fired(self, alertname: str, after: float) -> bool:
        """Whether a notification since `after` says `alertname` is firing."""
        return any(
            note["received_at"] >= after
            and any(
                alert["labels"]["alertname"] == alertname and alert["status"] == "firing"
                for alert in note["payload"]["alerts"]
            )
            for note in self.notifications()
        )


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(1)


@pytest.fixture(scope="session")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitoredStack]:
    # The stand-ins (no registry here) are built on first use, like PEBBLE_IMAGE's.
    missing = [
        name
        for name, variable in MONITORING_STANDINS.items()
        if os.environ.get(variable, "").startswith("shortener-standin/")
        and run(["docker", "image", "inspect", os.environ[variable]], check=False).returncode
    ]
    if missing:
        run([str(REPO / "scripts" / "standins" / "build.sh"), *missing], timeout=900)
    folder = tmp_path_factory.mktemp("monitoring")
    secrets_dir = make_secrets(folder / "secrets")
    url_file = secrets_dir / "alert_webhook_url"
    url_file.write_text("http://alert-receiver:8080/alerts\n")
    stack = MonitoredStack(
        secrets_dir,
        files=[*FILES, test_override(folder)],
        name=f"shortener-monitoring-{secrets.token_hex(3)}",
    )
    with stack.running():
        # Every target scraped at least once before any test reads them.
        wait_until(
            lambda: stack.values('count(up{job=~"postgres|redis|nginx"} == 1)') == [3.0],
            60,
            "exporters up",
        )
        yield stack


@pytest.fixture(scope="session")
def api_key(monitored: MonitoredStack) -> str:
    return monitored.create_api_key("monitoring")
