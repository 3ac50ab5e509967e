"""Drive the production files on a single-node Docker Swarm: scripts/stack.sh up and down,
the services and tasks, and a steady redirect load that counts every failed request.

The engine joins a swarm only for these tests if it is not in one already, and leaves it
only if the tests made it join; the stack has a unique name and is removed with its
secrets, configs, networks and volumes.
"""

import json
import os
import secrets
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
STACK_SCRIPT = REPO / "scripts" / "stack.sh"
# Read inside an api task's container: /metrics is never published.
METRICS_GET = (
    "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
    "'http://127.0.0.1:8000/metrics', timeout=5).read().decode())"
)
REDIRECTED = {"route": "/{code}", "method": "GET", "status": "302"}
# What scripts/stack.sh starts the edge with: the proxy, and (MONITORING=1, as here)
# Prometheus and Alertmanager.
EDGE_FILES = (
    "docker-compose.yml",
    "docker-compose.prod.yml",
    "docker-compose.swarm.yml",
    "docker-compose.monitoring.yml",
    "docker-compose.monitoring-swarm.yml",
    "docker-compose.edge.yml",
    "docker-compose.monitoring-edge.yml",
)


def run(args: Sequence[str], env: dict[str, str] | None = None, timeout: int = 300) -> str:
    result = subprocess.run(
        list(args), env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def swarm_state() -> str:
    return run(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"]).strip()


@dataclass
class SwarmStack:
    secrets_dir: Path
    name: str = field(default_factory=lambda: f"swtest{secrets.token_hex(3)}")

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "STACK_NAME": self.name,
            "SECRETS_DIR": str(self.secrets_dir),
            # Empty: Docker picks a free port on 127.0.0.1 for the edge proxy and UIs.
            "PROXY_PORT": "",
            "PROMETHEUS_PORT": "",
            "ALERTMANAGER_PORT": "",
            # The exporters in the stack, Prometheus and Alertmanager at the edge.
            "MONITORING": "1",
            "PUBLIC_BASE_URL": "http://sho.rt",
        }

    def up(self) -> str:
        return run([str(STACK_SCRIPT), "up"], self.env, timeout=600)

    def down(self) -> str:
        return run([str(STACK_SCRIPT), "down", "--volumes"], self.env, timeout=300)

    def edge(self, *args: str) -> str:
        files = [arg for name in EDGE_FILES for arg in ("-f", str(REPO / name))]
        return run(["docker", "compose", "-p", f"{self.name}-edge", *files, *args], self.env)

    @property
    def published(self) -> tuple[str, int]:
        host, _, port = self.edge("port", "proxy", "8080").strip().splitlines()[-1].rpartition(":")
        return host, int(port)

    @property
    def base_url(self) -> str:
        host, port = self.published
        assert host == "127.0.0.1", f"the proxy must publish on loopback only, got {host}"
        return f"http://127.0.0.1:{port}"

    def prometheus(self, expr: str) -> list[float]:
        """An instant query of the edge's Prometheus, on its loopback port."""
        address = self.edge("port", "prometheus", "9090").strip().splitlines()[-1]
        assert address.startswith("127.0.0.1:"), address
        reply = httpx.get(f"http://{address}/api/v1/query", params={"query": expr}, timeout=10)
        return [float(sample["value"][1]) for sample in reply.json()["data"]["result"]]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, follow_redirects=False, timeout=10)

    def service(self, service: str) -> dict:
        return json.loads(run(["docker", "service", "inspect", f"{self.name}_{service}"]))[0]

    def tasks(self, service: str) -> list[dict]:
        """Every task of the service that Swarm still lists, in any state."""
        ids = run(["docker", "service", "ps", "--quiet", f"{self.name}_{service}"]).split()
        return json.loads(run(["docker", "inspect", *ids])) if ids else []

    def running_tasks(self, service: str) -> list[dict]:
        """Tasks Swarm wants running and has running, with their image and container."""
        ids = run(
            [
                "docker",
                "service",
                "ps",
                "--quiet",
                "--filter",
                "desired-state=running",
                f"{self.name}_{service}",
            ]
        ).split()
        if not ids:
            return []
        tasks = json.loads(run(["docker", "inspect", *ids]))
        return [task for task in tasks if task["Status"]["State"] == "running"]

    def containers(self, service: str) -> list[str]:
        """Full ids of the service's running containers: full, because a task names its
        container by full id (wait_replaced compares the two)."""
        return run(
            [
                "docker",
                "ps",
                "--quiet",
                "--no-trunc",
                "--filter",
                f"label=com.docker.swarm.service.name={self.name}_{service}",
            ]
        ).split()

    def exec(self, service: str, *command: str) -> str:
        return run(["docker", "exec", self.containers(service)[0], *command])

    def redirects_served(self, container: str) -> float:
        """The 302 redirects one api task's process has answered (its own counter)."""
        text = run(["docker", "exec", container, "python", "-c", METRICS_GET])
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "shortener_http_requests_total" and sample.labels == REDIRECTED
        )

    def update(self, service: str, *options: str) -> subprocess.CompletedProcess[str]:
        """`docker service update`, waiting until the update (or its rollback) is over."""
        return subprocess.run(
            ["docker", "service", "update", "--detach=false", *options, f"{self.name}_{service}"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def wait_replaced(self, service: str, gone: str, replicas: int, timeout: float = 120) -> None:
        """Until `replicas` tasks run (healthy: Swarm counts a task running only then), and
        none of them in the container `gone`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tasks = self.running_tasks(service)
            ids = {t["Status"].get("ContainerStatus", {}).get("ContainerID") for t in tasks}
            if len(tasks) == replicas and gone not in ids:
                return
            time.sleep(1)
        raise AssertionError(f"{service}: {replicas} new tasks not running after {timeout} s")


class RedirectLoad:
    """Steady GETs of one short code from a few threads, each response's status counted;
    a request that got no response counts under its exception's name."""

    def __init__(self, base_url: str, code: str, threads: int = 4, pause: float = 0.02) -> None:
        self.base_url, self.code, self.pause = base_url, code, pause
        self.outcomes: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        # Under nginx's per-address redirect limit (200/s): a 429 would be a failure too.
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            while not self._stop.is_set():
                try:
                    outcome = str(client.get(f"/{self.code}").status_code)
                except httpx.HTTPError as error:
                    outcome = type(error).__name__
                with self._lock:
                    self.outcomes[outcome] += 1
                time.sleep(self.pause)

    def __enter__(self) -> "RedirectLoad":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    @property
    def redirected(self) -> int:
        with self._lock:
            return self.outcomes["302"]

    @property
    def failures(self) -> dict[str, int]:
        return {outcome: n for outcome, n in self.outcomes.items() if outcome != "302"}
