"""Checks that prove the Docker/Compose practices hold in the running stack."""

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import REPO, Stack, run, run_up_hint

pytestmark = pytest.mark.e2e

LONG_RUNNING = ["proxy", "api", "worker", "webhooks", "database", "cache"]


def test_every_service_process_runs_as_non_root(stack: Stack) -> None:
    for service in LONG_RUNNING:
        container = stack.container(service)
        # docker top lists every process in the container, with its uid as the host sees it.
        rows = run(["docker", "top", container, "-eo", "pid,uid,comm"]).stdout.splitlines()[1:]
        assert rows, f"{service}: no processes"
        for row in rows:
            _, uid, command = row.split(None, 2)
            assert uid != "0", f"{service}: {command} runs as root"
    # nginx can run unprivileged because it listens on 8080 inside its container.
    assert "8080/tcp" in stack.inspect(stack.container("proxy"))["NetworkSettings"]["Ports"]


def test_no_secret_value_appears_in_docker_inspect(stack: Stack) -> None:
    values = stack.secret_values()
    for container in stack.containers():
        document = json.dumps(stack.inspect(container))
        for value in values:
            assert value not in document, f"a secret appears in docker inspect of {container}"


def test_only_the_proxy_and_the_webhook_sender_have_a_route_out(stack: Stack) -> None:
    networks = {
        name: json.loads(run(["docker", "network", "inspect", f"{stack.name}_{name}"]).stdout)[0]
        for name in ("public", "frontend", "backend", "egress")
    }
    with_gateway = {name for name, network in networks.items() if not network["Internal"]}
    assert with_gateway == {"public", "egress"}
    # Who is on a network with a gateway: the proxy (its published port) and the sender.
    for service in LONG_RUNNING:
        joined = stack.inspect(stack.container(service))["NetworkSettings"]["Networks"]
        outward = {name.removeprefix(f"{stack.name}_") for name in joined} & with_gateway
        expected = {"proxy": {"public"}, "webhooks": {"egress"}}.get(service, set())
        assert outward == expected, (service, outward)


def probe(stack: Stack, from_service: str, host: str, port: int) -> str:
    """Resolve and connect from inside a service's network namespace.

    Runs the api image (it has Python) in the *network namespace* of the service's
    container, so the probe sees exactly the networks that service sees. Only the
    project's own containers are ever targeted.
    """
    script = (
        "import socket, sys\n"
        f"host, port = {host!r}, {port}\n"
        "try:\n"
        "    address = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)[0][4][0]\n"
        "except OSError:\n"
        "    print('unresolvable'); sys.exit()\n"
        "try:\n"
        "    socket.create_connection((address, port), timeout=3).close(); print('connected')\n"
        "except OSError:\n"
        "    print('unreachable')\n"
    )
    image = stack.inspect(stack.container("api"))["Config"]["Image"]
    container = stack.container(from_service)
    return run(
        [
            "docker",
            "run",
            "--rm",
            f"--network=container:{container}",
            "--entrypoint",
            "python",
            image,
            "-c",
            script,
        ]
    ).stdout.strip()


def ip_on(stack: Stack, service: str, network: str) -> str:
    networks = stack.inspect(stack.container(service))["NetworkSettings"]["Networks"]
    return networks[f"{stack.name}_{network}"]["IPAddress"]


def test_probe_itself_works_where_the_path_is_allowed(stack: Stack) -> None:
    # Without this control the isolation tests below could pass for the wrong reason.
    assert probe(stack, "api", "database", 5432) == "connected"
    assert probe(stack, "api", "cache", 6379) == "connected"
    assert probe(stack, "api", "proxy", 8080) == "connected"


def test_proxy_cannot_resolve_or_reach_the_data_stores(stack: Stack) -> None:
    assert probe(stack, "proxy", "database", 5432) == "unresolvable"
    assert probe(stack, "proxy", "cache", 6379) == "unresolvable"
    assert probe(stack, "proxy", ip_on(stack, "database", "backend"), 5432) == "unreachable"
    assert probe(stack, "proxy", ip_on(stack, "cache", "backend"), 6379) == "unreachable"


def test_database_cannot_reach_the_proxy(stack: Stack) -> None:
    assert probe(stack, "database", "proxy", 8080) == "unresolvable"
    assert probe(stack, "database", ip_on(stack, "proxy", "frontend"), 8080) == "unreachable"


def test_only_the_proxy_publishes_a_port(stack: Stack) -> None:
    for service in LONG_RUNNING:
        bindings = stack.inspect(stack.container(service))["HostConfig"]["PortBindings"] or {}
        if service == "proxy":
            assert [b["HostIp"] for b in bindings["8080/tcp"]] == ["127.0.0.1"]
        else:
            assert bindings == {}, f"{service} publishes {bindings}"


def test_link_survives_database_restart_and_down_up(stack: Stack, client: httpx.Client) -> None:
    code = client.post("/api/links", json={"url": "https://example.org/kept"}).json()["code"]

    stack.compose("restart", "database")
    stack.wait_healthy("database")
    stack.forget_cached_links()  # so the redirect below must come from Postgres
    with stack.client() as client:
        # The api's pool replaces its dead connections by itself: no api restart needed.
        deadline = time.monotonic() + 20
        while (status := client.get(f"/{code}").status_code) != 302:
            assert time.monotonic() < deadline, f"redirect still {status} after restart"
            time.sleep(0.5)

    stack.compose("down")  # containers go, named volumes stay
    stack.up()
    stack.forget_cached_links()
    with stack.client() as client:
        response = client.get(f"/{code}")
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.org/kept"


def test_failed_migration_keeps_api_and_worker_from_starting(fresh_secrets: Path) -> None:
    broken = fresh_secrets.parent / "broken-migrations"
    broken.mkdir()
    for migration in (REPO / "api" / "migrations").glob("*.sql"):
        (broken / migration.name).write_text(migration.read_text())
    # The next version re-creates an existing table: it fails inside the database.
    version = len(list(broken.glob("*.sql"))) + 1
    (broken / f"{version:04d}_broken.sql").write_text("CREATE TABLE links (id int);\n")
    override = fresh_secrets.parent / "broken-migration.yml"
    override.write_text(
        f"services:\n  migrate:\n    volumes:\n      - {broken}:/app/migrations:ro\n"
    )
    stack = Stack(fresh_secrets, files=[REPO / "docker-compose.yml", override])
    try:
        # `make up` runs this script: it must fail and show the migration's error.
        result = run(
            [str(REPO / "scripts" / "up.sh"), "-f", "docker-compose.yml", "-f", str(override)],
            env={**stack.env, "UP_TIMEOUT": "180"},
            check=False,
            timeout=400,
        )
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "migration failed" in output
        assert "already exists" in output

        assert stack.inspect(stack.container("migrate"))["State"]["ExitCode"] == 1
        for service in ("api", "worker", "proxy"):
            state = stack.inspect(stack.container(service))["State"]
            assert state["Status"] == "created", f"{service} is {state['Status']}"
            assert state["StartedAt"].startswith("0001-01-01"), f"{service} was started"
    finally:
        stack.down()


def test_up_ends_with_a_hint_whose_commands_work(stack: Stack) -> None:
    # `make up` again on the running stack, with the stack's own file: nothing changes, and
    # the closing hint is printed. Its key step and its curl, pasted, create a link.
    up = [str(REPO / "scripts" / "up.sh"), "-f", "docker-compose.yml"]
    result = run(up, env={**stack.env, "UP_TIMEOUT": "180"}, timeout=400)
    assert "stop: make down" in result.stdout
    assert f"{stack.base_url}/api/docs" in result.stdout
    link = json.loads(run_up_hint(stack, result.stdout))
    assert link["url"] == "https://example.org/", link


def test_http_client_sees_no_server_error_on_bad_input(client: httpx.Client) -> None:
    for body in (b"", b"[]", b'{"url": 5}', b'{"url": "https://e.org", "expires_at": "soon"}'):
        response = client.post(
            "/api/links", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, (body, response.text)


def test_api_and_worker_log_one_json_object_per_line(stack: Stack) -> None:
    with stack.client() as client:
        client.get("/health/ready")
    for service in ("api", "worker", "migrate"):
        lines = stack.compose("logs", "--no-color", "--no-log-prefix", service).splitlines()
        assert lines, f"{service} logged nothing"
        for line in filter(None, lines):
            entry = json.loads(line)  # raises on a line that is not JSON
            assert {"time", "level", "message"} <= entry.keys(), line
