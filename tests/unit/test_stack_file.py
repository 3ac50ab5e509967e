"""The Swarm stack file: base + prod + swarm overlay, merged by compose, adapted by
scripts/stack_file.py, accepted by the docker CLI's stack loader (`docker stack config`,
which needs no engine). The swarm tier (tests/swarm/) deploys it for real."""

import ast
import json
import os
import subprocess
import sys

import pytest

from tests.unit.test_compose_config import REPO, compose_available

sys.path.insert(0, str(REPO / "scripts"))
from stack_file import tmpfs_mount

pytestmark = pytest.mark.skipif(not compose_available(), reason="no docker CLI or plugin")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> dict:
    secrets_dir = tmp_path_factory.mktemp("secrets")
    env = {**os.environ, "SECRETS_DIR": str(secrets_dir)}
    rendered = subprocess.run(
        [str(REPO / "scripts" / "stack.sh"), "render"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    loaded = subprocess.run(
        ["docker", "stack", "config", "-c", "-"],
        input=rendered,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert loaded.returncode == 0, loaded.stderr
    return json.loads(rendered)


def test_the_proxy_is_the_edge_not_a_stack_service(stack: dict) -> None:
    assert "proxy" not in stack["services"]
    assert not any("ports" in service for service in stack["services"].values())


def test_no_start_order_and_a_migration_job(stack: dict) -> None:
    assert not any("depends_on" in service for service in stack["services"].values())
    migrate = stack["services"]["migrate"]["deploy"]
    assert migrate["mode"] == "replicated-job"
    assert migrate["restart_policy"]["condition"] == "on-failure"


@pytest.mark.parametrize("service", ["api", "worker"])
def test_stateless_services_roll_start_first_and_back_on_failure(stack: dict, service: str) -> None:
    deploy = stack["services"][service]["deploy"]
    assert deploy["replicas"] == 2
    assert deploy["update_config"]["order"] == "start-first"
    assert deploy["update_config"]["failure_action"] == "rollback"
    assert deploy["rollback_config"]["order"] == "start-first"
    assert deploy["restart_policy"]["condition"] == "any"
    assert deploy["resources"]["limits"]["cpus"] == "1"


def test_read_only_services_keep_their_tmpfs_mounts(stack: dict) -> None:
    database = stack["services"]["database"]
    assert database["read_only"] is True
    targets = {v["target"] for v in database["volumes"] if v["type"] == "tmpfs"}
    assert targets == {"/var/run/postgresql", "/tmp", "/dev/shm"}


def test_networks_are_overlays_and_backend_internal(stack: dict) -> None:
    assert stack["networks"]["backend"] == {"driver": "overlay", "internal": True, "ipam": {}}
    assert stack["networks"]["frontend"]["attachable"] is True


def test_the_stack_names_its_own_resources(stack: dict) -> None:
    # A compose `name:` would escape the stack's namespace (and meet the compose project's).
    for kind in ("networks", "volumes", "secrets", "configs"):
        assert not any("name" in resource for resource in stack[kind].values()), kind


def test_tmpfs_option_becomes_a_sized_mount() -> None:
    assert tmpfs_mount("/tmp:size=16m") == {
        "type": "tmpfs",
        "target": "/tmp",
        "tmpfs": {"size": 16 * 1024 * 1024},
    }
    assert tmpfs_mount("/run") == {"type": "tmpfs", "target": "/run"}


def test_stack_file_script_is_standard_library_only() -> None:
    # scripts/stack.sh runs it with the system python3, before any virtualenv exists.
    # Every import, `from X import Y` and nested ones too; none relative.
    tree = ast.parse((REPO / "scripts" / "stack_file.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module, ast.unparse(node)
            imported.add(node.module)
    modules = {name.partition(".")[0] for name in imported}
    assert modules, "no import found: the scan is broken"
    assert modules <= sys.stdlib_module_names, modules - sys.stdlib_module_names
