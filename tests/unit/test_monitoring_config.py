"""docker-compose.monitoring.yml beside each variant: hardened like production, nothing
published but the UIs and those on loopback, the exporters on an internal network, secrets
only as files, every image replaceable (docs/monitoring.md). Rendered by `docker compose
config`; skipped without the docker CLI, as tests/unit/test_compose_config.py is."""

import json
import os
from pathlib import Path

import pytest

from tests.unit.test_compose_config import BASE, OVERRIDE, PROD, compose_config
from tests.unit.test_compose_config import pytestmark as needs_compose

pytestmark = needs_compose

MONITORING = "docker-compose.monitoring.yml"
SERVICES = {
    "prometheus",
    "alertmanager",
    "postgres-exporter",
    "redis-exporter",
    "nginx-exporter",
    "grafana",
}
EXPORTERS = {"postgres-exporter", "redis-exporter", "nginx-exporter"}
IMAGE_VARIABLES = {
    "prometheus": "PROMETHEUS_IMAGE",
    "alertmanager": "ALERTMANAGER_IMAGE",
    "postgres-exporter": "POSTGRES_EXPORTER_IMAGE",
    "redis-exporter": "REDIS_EXPORTER_IMAGE",
    "nginx-exporter": "NGINX_EXPORTER_IMAGE",
    "grafana": "GRAFANA_IMAGE",
}


@pytest.fixture
def monitoring_env(tmp_path: Path) -> dict[str, str]:
    # The caller's image choices (stand-ins) removed: the official defaults are rendered.
    clean = {key: value for key, value in os.environ.items() if not key.endswith("_IMAGE")}
    return {
        **clean,
        "COMPOSE_PROJECT_NAME": "shortener-config-test",
        "SECRETS_DIR": str(tmp_path / "secrets"),
        "COMPOSE_PROFILES": "grafana",
    }


def render(files: list[str], env: dict[str, str]) -> dict:
    return json.loads(compose_config(files, "--format", "json", env=env).stdout)


@pytest.fixture(params=[[BASE, OVERRIDE], [BASE, PROD]], ids=["development", "production"])
def config(request: pytest.FixtureRequest, monitoring_env: dict[str, str]) -> dict:
    return render([*request.param, MONITORING], monitoring_env)


def test_every_monitoring_service_is_hardened_and_unprivileged(config: dict) -> None:
    assert set(config["services"]) >= SERVICES
    for name in SERVICES:
        service = config["services"][name]
        assert service.get("read_only") is True, name
        assert service.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        uid = service["user"].split(":")[0]
        assert uid.isdigit() and int(uid) != 0, f"{name}: user {service['user']}"
        limits = service["deploy"]["resources"]["limits"]
        assert int(limits["memory"]) > 0 and int(limits["pids"]) > 0, name
        assert service.get("restart") == "unless-stopped", name
        assert service["logging"]["options"].keys() >= {"max-size", "max-file"}, name


def test_only_the_uis_publish_and_only_on_loopback(config: dict) -> None:
    published = {
        name: service["ports"]
        for name, service in config["services"].items()
        if service.get("ports") and name in SERVICES
    }
    assert set(published) == {"prometheus", "alertmanager", "grafana"}
    for name, ports in published.items():
        assert all(port["host_ip"] == "127.0.0.1" for port in ports), (name, ports)


def test_the_exporters_have_no_route_out(config: dict) -> None:
    assert config["networks"]["monitoring"]["internal"] is True
    assert config["networks"]["backend"]["internal"] is True
    for name in EXPORTERS:
        assert set(config["services"][name]["networks"]) <= {"monitoring", "backend"}, name
    # The proxy joins the internal network for its stub_status; nothing else of it changes.
    assert set(config["services"]["proxy"]["networks"]) == {"public", "frontend", "monitoring"}


def test_credentials_are_secret_files_never_environment_values(config: dict) -> None:
    for name in SERVICES:
        environment = config["services"][name].get("environment", {})
        for key, value in environment.items():
            assert "PASSWORD" not in key or key.endswith("_FILE"), (name, key)
            assert "secrets" not in str(value) or str(value).startswith("/run/secrets/"), key
    for name, secret in config["secrets"].items():
        assert "file" in secret, name


def test_every_image_is_replaceable(monitoring_env: dict[str, str]) -> None:
    env = {**monitoring_env, **{v: f"mirror.example/{s}:1" for s, v in IMAGE_VARIABLES.items()}}
    services = render([BASE, PROD, MONITORING], env)["services"]
    for name, variable in IMAGE_VARIABLES.items():
        assert services[name]["image"] == f"mirror.example/{name}:1", variable


def test_tls_acme_puts_the_keeper_where_prometheus_scrapes_it(
    monitoring_env: dict[str, str],
) -> None:
    env = {**monitoring_env, "PUBLIC_HOST": "short.example.org", "COMPOSE_PROFILES": "acme"}
    files = [BASE, PROD, "docker-compose.tls.yml", MONITORING, "docker-compose.monitoring-tls.yml"]
    certs = render(files, env)["services"]["certs"]
    # Its route out to the CA, and the internal network Prometheus scrapes on; no other.
    assert set(certs["networks"]) == {"acme", "monitoring"}


def test_on_swarm_the_exporters_join_the_stack_and_the_uis_stay_at_the_edge(
    monitoring_env: dict[str, str],
) -> None:
    env = {**monitoring_env, "STACK_NAME": "x", "COMPOSE_PROFILES": ""}
    files = [
        BASE,
        PROD,
        "docker-compose.swarm.yml",
        MONITORING,
        "docker-compose.monitoring-swarm.yml",
    ]
    services = render(files, env)["services"]
    assert set(services) >= EXPORTERS
    # Published on 127.0.0.1 by the edge project (docker-compose.monitoring-edge.yml): a
    # Swarm service would publish on every address of every node.
    assert not {"prometheus", "alertmanager", "grafana", "proxy"} & set(services)
    for name in EXPORTERS:
        assert services[name]["deploy"]["endpoint_mode"] == "dnsrr", name
