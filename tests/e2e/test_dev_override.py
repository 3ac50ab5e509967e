"""The development override (docker-compose.override.yml), which `make up` loads.

An edit to the api or worker source is live without a rebuild, the data stores answer on
the host's loopback only, and none of that reaches the base or the production variant.
The stack runs from a copy of the project, so the test edits the copy, never the tree.
"""

import json
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pytest
from redis import Redis

from tests.e2e.stack import REPO, Stack, run

pytestmark = pytest.mark.e2e

# What compose reads: the files and the build contexts, nothing else.
PROJECT_FILES = [
    "docker-compose.yml",
    "docker-compose.override.yml",
    "api",
    "worker",
    "nginx",
    "database",
    "cache",
    "init-db",
]
DATA_STORES = {"database": 5432, "cache": 6379}
RELOAD_TIMEOUT_SECONDS = 30


class DevStack(Stack):
    """A stack of a project copy, with the override and image tags of its own.

    Building the copy under the shared tags (shortener/api:local, ...) would leave the
    edited code baked into the images the other tests run.
    """

    @property
    def images(self) -> dict[str, str]:
        return {
            "API_IMAGE": f"{self.name}/api:dev",
            "WORKER_IMAGE": f"{self.name}/worker:dev",
            "PROXY_IMAGE": f"{self.name}/proxy:dev",
            "DATABASE_IMAGE": f"{self.name}/database:dev",
        }

    @property
    def env(self) -> dict[str, str]:
        # Empty ports: Docker picks free ones on 127.0.0.1, whatever else runs here.
        return {**super().env, **self.images, "DEV_POSTGRES_PORT": "", "DEV_REDIS_PORT": ""}

    def remove_images(self) -> None:
        run(["docker", "image", "rm", *self.images.values()], check=False)

    def published(self, service: str, port: int) -> tuple[str, int]:
        bindings = self.inspect(self.container(service))["NetworkSettings"]["Ports"][f"{port}/tcp"]
        assert bindings, f"{service}: {port} is not published"
        hosts = {binding["HostIp"] for binding in bindings}
        assert hosts == {"127.0.0.1"}, f"{service}: {port} is published on {hosts}"
        return "127.0.0.1", int(bindings[0]["HostPort"])

    def started_at(self, service: str) -> str:
        return self.inspect(self.container(service))["State"]["StartedAt"]


def copy_project(target: Path) -> Path:
    target.mkdir()
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} no longer holds {old!r}: update this test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def eventually(check: Callable[[], bool], what: str, timeout: float) -> float:
    """Seconds until check() holds; fails after timeout."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not seen within {timeout} s")
        time.sleep(0.5)
    return time.monotonic() - start


def compose_config(secrets_dir: Path, *files: str) -> dict:
    """The merged model, in a stack's environment (`config` never reads the secrets)."""
    stack = Stack(secrets_dir, files=[REPO / name for name in files])
    return json.loads(stack.compose("config", "--format", "json"))


@pytest.mark.parametrize(
    "files",
    [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.prod.yml"]],
    ids=["base", "prod"],
)
def test_data_stores_are_unreachable_from_the_host_outside_development(
    files: list[str], tmp_path: Path
) -> None:
    services = compose_config(tmp_path, *files)["services"]
    for service in DATA_STORES:
        assert not services[service].get("ports"), f"{service} publishes a port"
        assert set(services[service]["networks"]) == {"backend"}


def test_development_publishes_data_stores_on_loopback_only(tmp_path: Path) -> None:
    config = compose_config(tmp_path, "docker-compose.yml", "docker-compose.override.yml")
    assert not config["networks"]["devtools"].get("internal")
    for name, service in config["services"].items():
        joins_devtools = "devtools" in service.get("networks", {})
        assert joins_devtools == (name in DATA_STORES), f"{name} and the devtools network"
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes beyond loopback"


def test_edits_are_live_without_a_rebuild(fresh_secrets: Path, tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    stack = DevStack(
        fresh_secrets,
        files=[project / "docker-compose.yml", project / "docker-compose.override.yml"],
        name=f"shortener-dev-{secrets.token_hex(3)}",
    )
    try:
        try:
            stack.compose(
                "up", "--detach", "--build", "--wait", "--wait-timeout", "240", timeout=600
            )
        except AssertionError:
            print(stack.logs())
            raise
        started = {service: stack.started_at(service) for service in ("api", "worker")}

        # api: uvicorn's reloader serves the edited route, through nginx.
        marker = f"edited-{secrets.token_hex(4)}"
        edit(
            project / "api" / "shortener" / "health" / "routes.py",
            'return health_response("pass")\n',
            f'return health_response("pass", {{"reload": {{"output": "{marker}"}}}})\n',
        )

        def api_serves_the_edit() -> bool:
            try:
                with stack.client() as client:
                    response = client.get("/health/live")
            except httpx.HTTPError:
                return False  # the server process is restarting
            return response.status_code == 200 and marker in response.text

        api_seconds = eventually(api_serves_the_edit, "the edited api", RELOAD_TIMEOUT_SECONDS)

        # worker: the reloader restarts it; the new process logs with the edited code.
        worker = stack.container("worker")
        name_before = stack.exec("worker", "cat", "/tmp/rq-worker-name")
        edit(
            project / "worker" / "shortener_worker" / "runner.py",
            'log.info("worker starting"',
            f'log.info("worker starting {marker}"',
        )

        def worker_runs_the_edit() -> bool:
            logs = stack.compose("logs", "--no-color", "--no-log-prefix", "worker")
            return f"worker starting {marker}" in logs

        worker_seconds = eventually(
            worker_runs_the_edit, "the edited worker", RELOAD_TIMEOUT_SECONDS
        )
        # The healthcheck follows the new worker (its name file) and passes.
        assert stack.exec("worker", "cat", "/tmp/rq-worker-name") != name_before
        health = ["docker", "exec", worker, "python", "-m", "shortener_worker", "health"]
        eventually(
            lambda: run(health, check=False).returncode == 0,
            "the reloaded worker's healthcheck",
            RELOAD_TIMEOUT_SECONDS,
        )
        # Reloaded in place: neither container was recreated or restarted.
        assert {service: stack.started_at(service) for service in started} == started
        print(f"reload: api {api_seconds:.1f} s, worker {worker_seconds:.1f} s")

        # The data stores answer local tools on 127.0.0.1, with the generated secrets.
        host, port = stack.published("database", DATA_STORES["database"])
        password = (fresh_secrets / "database_app_password").read_text().strip()
        with psycopg.connect(
            host=host, port=port, dbname="shortener", user="shortener_app", password=password
        ) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("shortener_app",)
        host, port = stack.published("cache", DATA_STORES["cache"])
        password = (fresh_secrets / "redis_password").read_text().strip()
        with Redis(host=host, port=port, password=password, socket_timeout=5) as cache:
            assert cache.ping()
    finally:
        stack.down()
        stack.remove_images()
