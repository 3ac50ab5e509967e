"""The production variant (docker-compose.yml + docker-compose.prod.yml), running.

One stack for the module, under its own project name, with secrets made for it in a temp
folder: every container hardened as the prod file says, two api and two worker replicas
behind the proxy, and a start refused, naming what is missing, without its secrets.
"""

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import REPO, Stack, make_secrets, run, run_up_hint

pytestmark = pytest.mark.e2e

PROD_FILES = [REPO / "docker-compose.yml", REPO / "docker-compose.prod.yml"]
SERVICE_LABEL = "com.docker.compose.service"
# What `make prod-up` runs.
PROD_UP = [str(REPO / "scripts" / "up.sh"), "--existing-secrets"] + [
    arg for path in PROD_FILES for arg in ("-f", str(path))
]


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(make_secrets(tmp_path_factory.mktemp("prod-secrets")), files=PROD_FILES)
    with stack.running():
        yield stack


@pytest.fixture(scope="module")
def api_key(prod: Stack) -> str:
    # With two replicas `compose exec` picks the first: either can make a key.
    return prod.create_api_key("prod-test")


def is_root(user: str) -> bool:
    """Config.User: empty means the image's default, root, for the data stores' images."""
    return user.split(":")[0] in ("", "root", "0")


def containers_by_service(stack: Stack) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for container in stack.containers():
        document = stack.inspect(container)
        found.setdefault(document["Config"]["Labels"][SERVICE_LABEL], []).append(document)
    return found


READ_METRICS = (
    "import urllib.request; print(urllib.request.urlopen("
    "'http://127.0.0.1:8000/metrics', timeout=5).read().decode())"
)


def answered_unknown_codes(metrics: str) -> bool:
    """Whether the api's counters show a 404 from the redirect route (any label order)."""
    return any(
        line.startswith("shortener_http_requests_total{")
        and 'route="/{code}"' in line
        and 'status="404"' in line
        for line in metrics.splitlines()
    )


def access_log(stack: Stack) -> list[dict]:
    """The proxy's access log: one JSON object per line on its stdout."""
    output = run(["docker", "logs", stack.container("proxy")]).stdout
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def frontend_ip(stack: Stack, document: dict) -> str:
    return document["NetworkSettings"]["Networks"][f"{stack.name}_frontend"]["IPAddress"]


def test_every_container_is_hardened(prod: Stack) -> None:
    services = containers_by_service(prod)
    assert set(services) == {"proxy", "api", "worker", "webhooks", "migrate", "database", "cache"}
    problems = []
    for service, documents in services.items():
        for document in documents:
            host, config, name = document["HostConfig"], document["Config"], document["Name"]
            checks = {
                "non-root user": not is_root(config["User"]),
                "read-only root": host["ReadonlyRootfs"] is True,
                "drops ALL capabilities": "ALL" in (host["CapDrop"] or []),
                "adds none": not host["CapAdd"],
                "no-new-privileges": any(
                    option.startswith("no-new-privileges") for option in host["SecurityOpt"] or []
                ),
                "memory limit": host["Memory"] > 0,
                "pids limit": (host["PidsLimit"] or 0) > 0,
                "rotated json-file log": host["LogConfig"]["Type"] == "json-file"
                and {"max-size", "max-file"} <= host["LogConfig"]["Config"].keys(),
                "restart policy": host["RestartPolicy"]["Name"]
                == ("no" if service == "migrate" else "unless-stopped"),
            }
            problems += [f"{name}: {check}" for check, ok in checks.items() if not ok]
    assert not problems, "\n".join(problems)


def test_every_process_runs_as_non_root(prod: Stack) -> None:
    for service, documents in containers_by_service(prod).items():
        for document in documents:
            if not document["State"]["Running"]:
                continue  # the migrate job has exited
            table = run(["docker", "top", document["Id"], "-eo", "pid,uid,comm"]).stdout
            for row in table.splitlines()[1:]:
                _, uid, command = row.split(None, 2)
                assert uid != "0", f"{service}: {command} runs as root"


def test_api_and_worker_run_two_healthy_replicas(prod: Stack) -> None:
    services = containers_by_service(prod)
    for service in ("api", "worker"):
        states = [document["State"] for document in services[service]]
        assert len(states) == 2, f"{service}: {len(states)} replicas"
        assert all(state["Health"]["Status"] == "healthy" for state in states), states


def test_link_is_created_and_followed_through_the_proxy(prod: Stack, api_key: str) -> None:
    with prod.client() as client:
        created = client.post(
            "/api/links",
            json={"url": "https://example.org/prod"},
            headers={"Authorization": f"Bearer {api_key}"},
        )
        assert created.status_code == 201, created.text
        redirect = client.get(f"/{created.json()['code']}")
    assert redirect.status_code == 302
    assert redirect.headers["location"] == "https://example.org/prod"


def test_proxy_spreads_requests_over_every_api_replica(prod: Stack) -> None:
    marker = f"spread{secrets.token_hex(4)}"
    with prod.client() as client:
        for number in range(10):
            client.get(f"/{marker}{number}")  # an unknown code: the api answers 404
    replicas = containers_by_service(prod)["api"]
    # nginx logs which replica answered each request ...
    upstreams = {
        entry["upstream"].rsplit(":", 1)[0]
        for entry in access_log(prod)
        if entry["uri"].startswith(f"/{marker}")
    }
    assert upstreams == {frontend_ip(prod, document) for document in replicas}
    # ... and each replica counted some of them itself (its access log is off here).
    for document in replicas:
        metrics = prod.exec_in(document["Id"], "python", "-c", READ_METRICS)
        assert answered_unknown_codes(metrics), f"{document['Name']} served none"


def test_the_api_leaves_the_access_log_to_nginx(prod: Stack) -> None:
    # ACCESS_LOG=false: nginx logs every request with its request id and the replica that
    # answered; a second line per request from the api would cost it a quarter of a
    # redirect (docs/performance.md). The healthchecks alone (python -m
    # shortener.health.probe, every 10 s) would have written some by now.
    for document in containers_by_service(prod)["api"]:
        logs = run(["docker", "logs", document["Id"]])
        assert '"uvicorn.access"' not in logs.stdout + logs.stderr


def test_a_client_cannot_choose_its_address(prod: Stack) -> None:
    marker = f"/spoof{secrets.token_hex(4)}"
    with prod.client() as client:
        client.get(marker, headers={"X-Forwarded-For": "203.0.113.7"})
    entries = [entry for entry in access_log(prod) if entry["uri"] == marker]
    assert entries, "request not in the access log"
    assert entries[0]["remote_addr"] != "203.0.113.7"


def test_proxy_sends_a_content_policy_and_compresses_json(prod: Stack) -> None:
    with prod.client() as client:
        page = client.get("/")
        document = client.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert "default-src 'none'" in page.headers["content-security-policy"]
    # The web page runs only its own scripts: never inline ones (docs/web.md).
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert document.headers["content-encoding"] == "gzip"
    assert "default-src 'none'" in document.headers["content-security-policy"]


def test_missing_secret_file_stops_startup_naming_it(tmp_path: Path) -> None:
    folder = make_secrets(tmp_path / "secrets")
    (folder / "redis_users.acl").unlink()
    stack = Stack(folder, files=PROD_FILES)
    try:
        # `make prod-up`: refused before anything starts, and nothing is generated.
        prod_up = run(
            PROD_UP,
            env=stack.env,
            check=False,
        )
        assert prod_up.returncode != 0
        assert str(folder / "redis_users.acl") in prod_up.stderr
        assert not (folder / "redis_users.acl").exists()
        assert stack.containers() == []

        # Without the variable, the message names the variable.
        unset = {key: value for key, value in stack.env.items() if key != "SECRETS_DIR"}
        prod_up = run(
            PROD_UP,
            env=unset,
            check=False,
        )
        assert prod_up.returncode != 0
        assert "required variable SECRETS_DIR is missing" in prod_up.stderr

        # Plain `docker compose up` fails too, naming the file (the engine refuses the mount).
        result = run(
            [
                "docker",
                "compose",
                "-f",
                str(PROD_FILES[0]),
                "-f",
                str(PROD_FILES[1]),
                "up",
                "--detach",
            ],
            env=stack.env,
            check=False,
        )
        assert result.returncode != 0
        assert str(folder / "redis_users.acl") in result.stderr
    finally:
        stack.down()


def test_prod_up_ends_with_a_hint_whose_commands_work(prod: Stack) -> None:
    # `make prod-up` again on the running variant: nothing changes, the hint is printed. It
    # names the prod targets (no `make clean` offered), and `make api-key` reaches this
    # variant's api: pasted, its two commands create a link.
    result = run(PROD_UP, env={**prod.env, "UP_TIMEOUT": "180"}, timeout=400)
    assert "stop: make prod-down" in result.stdout
    assert "make clean" not in result.stdout
    link = json.loads(run_up_hint(prod, result.stdout))
    assert link["url"] == "https://example.org/", link


# Last: it leaves one api replica stopped.
def test_a_stopped_api_replica_costs_only_a_retry(prod: Stack, api_key: str) -> None:
    stopped = containers_by_service(prod)["api"][0]
    run(["docker", "stop", "--time", "10", stopped["Id"]])
    with prod.client() as client:
        # One connection, so one nginx worker, which takes the replicas in turn.
        for _ in range(4):
            assert client.get("/health/live").status_code == 200
        created = client.post(
            "/api/links",
            json={"url": "https://example.org/retry"},
            headers={"Authorization": f"Bearer {api_key}"},
        )
    # Not yet sent when the connection failed, so even a POST is safely retried.
    assert created.status_code == 201, created.text
    retried = [entry for entry in access_log(prod) if ", " in entry["upstream"]]
    assert retried, "no request was retried on the other replica"
    assert retried[0]["upstream"].startswith(frontend_ip(prod, stopped))
