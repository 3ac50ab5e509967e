"""The compose files parse, and the production variant keeps its hardening.

`docker compose config` needs the docker CLI and its compose plugin, not a running engine;
without them these tests are skipped. The e2e tier (tests/e2e/test_prod_variant.py) proves
the same settings on running containers.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BASE = "docker-compose.yml"
OVERRIDE = "docker-compose.override.yml"
PROD = "docker-compose.prod.yml"
TLS = "docker-compose.tls.yml"
TLS_FILES = "docker-compose.tls-files.yml"
LONG_RUNNING = {"proxy", "api", "worker", "webhooks", "database", "cache"}


def compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, check=False
    )
    return result.returncode == 0


pytestmark = pytest.mark.skipif(
    not compose_available(), reason="`docker compose version` failed: no docker CLI or plugin"
)


def compose_config(
    files: list[str],
    *args: str,
    env: dict[str, str],
    env_file: Path | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    flags = [arg for file in files for arg in ("-f", file)]
    if env_file is not None:
        flags += ["--env-file", str(env_file)]
    result = subprocess.run(
        ["docker", "compose", *flags, "config", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment without SECRETS_DIR, and a project name of our own."""
    clean = {key: value for key, value in os.environ.items() if key != "SECRETS_DIR"}
    return {**clean, "COMPOSE_PROJECT_NAME": "shortener-config-test"}


@pytest.fixture
def prod_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    # `config` only renders paths: the folder need not hold the files.
    return {**env, "SECRETS_DIR": str(tmp_path / "production-secrets")}


@pytest.fixture
def prod(prod_env: dict[str, str]) -> dict:
    return json.loads(compose_config([BASE, PROD], "--format", "json", env=prod_env).stdout)


@pytest.fixture
def tls_env(prod_env: dict[str, str]) -> dict[str, str]:
    return {**prod_env, "PUBLIC_HOST": "short.example.org"}


@pytest.fixture
def acme(tls_env: dict[str, str]) -> dict:
    """The production variant in TLS_MODE=acme, as `make prod-up` composes it."""
    env = {**tls_env, "COMPOSE_PROFILES": "acme"}
    return json.loads(compose_config([BASE, PROD, TLS], "--format", "json", env=env).stdout)


@pytest.mark.parametrize(
    "files", [[BASE], [BASE, OVERRIDE], [BASE, PROD]], ids=["base", "development", "production"]
)
def test_compose_files_are_valid(files: list[str], prod_env: dict[str, str]) -> None:
    compose_config(files, "--quiet", env=prod_env)


def test_production_without_secrets_dir_stops_naming_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    # An empty env file, so a SECRETS_DIR in the developer's .env cannot satisfy it either.
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = compose_config([BASE, PROD], "--quiet", env=env, env_file=empty, check=False)
    assert result.returncode != 0
    assert "SECRETS_DIR" in result.stderr
    assert "set SECRETS_DIR to the folder holding the production secrets" in result.stderr


def test_production_secrets_come_only_from_secrets_dir(
    prod: dict, prod_env: dict[str, str]
) -> None:
    folder = Path(prod_env["SECRETS_DIR"])
    assert prod["secrets"], "no secrets in the production configuration"
    for name, secret in prod["secrets"].items():
        assert Path(secret["file"]).parent == folder, f"{name}: {secret['file']}"


@pytest.mark.parametrize("variant", ["prod", "acme"])
def test_every_production_service_is_hardened(variant: str, request: pytest.FixtureRequest) -> None:
    prod = request.getfixturevalue(variant)
    extra = {"certs"} if variant == "acme" else set()
    assert set(prod["services"]) == LONG_RUNNING | {"migrate"} | extra
    for name, service in prod["services"].items():
        assert service.get("read_only") is True, f"{name}: root filesystem is writable"
        assert service.get("cap_drop") == ["ALL"], f"{name}: cap_drop {service.get('cap_drop')}"
        assert not service.get("cap_add"), f"{name}: adds {service['cap_add']}"
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert any(mount.startswith("/tmp") for mount in service.get("tmpfs", [])), name
        logging = service.get("logging", {})
        assert logging.get("driver") == "json-file", name
        assert {"max-size", "max-file"} <= logging.get("options", {}).keys(), name
        assert service.get("stop_grace_period"), f"{name}: no stop_grace_period"
        resources = service.get("deploy", {}).get("resources", {})
        limits, reservations = resources.get("limits", {}), resources.get("reservations", {})
        assert int(limits.get("memory", 0)) > 0, f"{name}: no memory limit"
        assert float(limits.get("cpus", 0)) > 0, f"{name}: no cpu limit"
        assert int(limits.get("pids", 0)) > 0, f"{name}: no pids limit"
        assert int(reservations.get("memory", 0)) > 0, f"{name}: no memory reservation"
        expected_restart = "no" if name == "migrate" else "unless-stopped"
        assert service.get("restart") == expected_restart, f"{name}: {service.get('restart')}"


def test_production_runs_every_service_as_a_named_unprivileged_user(prod: dict) -> None:
    # The data stores' images start as root unless told otherwise; the others set USER.
    assert prod["services"]["database"]["user"] == "postgres"
    assert prod["services"]["cache"]["user"] == "redis"


def test_production_scales_api_and_worker_and_publishes_only_the_proxy(prod: dict) -> None:
    for name in ("api", "worker"):
        assert prod["services"][name]["deploy"]["replicas"] >= 2, name
    published = {name for name, service in prod["services"].items() if service.get("ports")}
    assert published == {"proxy"}


def test_tls_acme_publishes_80_and_443_and_keeps_the_keeper_apart(acme: dict) -> None:
    proxy, certs = acme["services"]["proxy"], acme["services"]["certs"]
    assert sorted((p["published"], p["target"], p["host_ip"]) for p in proxy["ports"]) == [
        ("443", 8443, "127.0.0.1"),
        ("80", 8080, "127.0.0.1"),
    ]
    # The keeper writes, the proxy only reads; the keeper's one network is its route out.
    assert {(v["target"], v.get("read_only", False)) for v in proxy["volumes"]} == {
        ("/certs", True),
        ("/acme-challenges", True),
    }
    assert {(v["target"], v.get("read_only", False)) for v in certs["volumes"]} == {
        ("/certs", False),
        ("/acme-challenges", False),
    }
    assert set(certs["networks"]) == {"acme"}
    assert acme["networks"]["acme"].get("internal") is not True
    assert "acme" not in proxy["networks"]  # the proxy needs no route out
    assert acme["services"]["api"]["environment"]["PUBLIC_BASE_URL"] == "https://short.example.org"


def test_tls_files_mode_takes_the_pair_from_secrets_dir(
    tls_env: dict[str, str], prod_env: dict[str, str]
) -> None:
    config = json.loads(
        compose_config([BASE, PROD, TLS, TLS_FILES], "--format", "json", env=tls_env).stdout
    )
    assert "certs" not in config["services"]  # no keeper without the acme profile
    mounted = {secret["source"] for secret in config["services"]["proxy"]["secrets"]}
    assert mounted == {"tls_certificate", "tls_private_key"}
    for name in mounted:
        assert Path(config["secrets"][name]["file"]).parent == Path(prod_env["SECRETS_DIR"])


def test_tls_without_public_host_stops_naming_it(prod_env: dict[str, str]) -> None:
    result = compose_config([BASE, PROD, TLS], "--quiet", env=prod_env, check=False)
    assert result.returncode != 0
    assert "set PUBLIC_HOST to the host name HTTPS is served for" in result.stderr


def test_development_and_production_are_projects_of_their_own(env: dict[str, str]) -> None:
    # On one host, production must never start on development's volumes (made with other
    # passwords): each variant's project name prefixes its containers and volumes.
    env = {k: v for k, v in env.items() if k != "COMPOSE_PROJECT_NAME"}
    names = {}
    for variant, files in {"development": [BASE, OVERRIDE], "production": [BASE, PROD]}.items():
        variant_env = {**env, "SECRETS_DIR": "/tmp/config-only"}
        config = compose_config(files, "--format", "json", env=variant_env)
        names[variant] = json.loads(config.stdout)["name"]
    assert names == {"development": "shortener", "production": "shortener-prod"}
