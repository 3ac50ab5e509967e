"""Nobody in where they do not belong, on the running stack: one key cannot touch another's
links, keys and secrets never reach a log or an image's history, the app role cannot change
the schema, and Redis answers nobody without the password.

Covered elsewhere, and not repeated here (docs/security.md lists them all): a revoked key
is refused (test_link_api.py), no secret in `docker inspect` (test_practices.py), /metrics
is not reachable through the proxy (test_observability.py).
"""

import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.hostile import assert_problem, patient_client, post_json
from tests.e2e.logs import logged_with, wait_for
from tests.e2e.stack import Stack, run

pytestmark = pytest.mark.e2e


@dataclass
class Owner:
    key: str
    id: str  # api_keys.id: what links.owner_id holds
    client: httpx.Client


@pytest.fixture(scope="module")
def alice_and_mallory(stack: Stack) -> Iterator[tuple[Owner, Owner]]:
    owners = []
    with patient_client(stack) as alice_client, patient_client(stack) as mallory_client:
        for name, client in (("alice", alice_client), ("mallory", mallory_client)):
            key = stack.create_api_key(name)
            client.headers["Authorization"] = f"Bearer {key}"
            prefix = key.removeprefix("shk_")[:8]
            owner_id = stack.sql("SELECT id FROM shortener.api_keys WHERE prefix = :'p'", p=prefix)
            owners.append(Owner(key, owner_id, client))
        yield owners[0], owners[1]


# ---- one owner's links are invisible to every other key ----------------------------------


def test_another_keys_links_cannot_be_read_changed_or_deleted(
    stack: Stack, alice_and_mallory: tuple[Owner, Owner]
) -> None:
    alice, mallory = alice_and_mallory
    alias = f"alice-{secrets.token_hex(3)}"
    target = f"https://example.org/alice/{alias}"
    created = post_json(alice.client, "/api/links", {"url": target, "alias": alias})
    assert created.status_code == 201, created.text
    batch = post_json(alice.client, "/api/links/batch", {"links": [{"url": target + "/b"}]})
    batched = batch.json()["results"][0]["link"]["code"]

    for code in (alias, batched):
        for method, path, body in (
            ("GET", f"/api/links/{code}", None),
            ("GET", f"/api/links/{code}/stats", None),
            ("PATCH", f"/api/links/{code}", {"url": "https://evil.test/"}),
            ("PATCH", f"/api/links/{code}", {"max_visits": 1, "expires_at": None}),
            ("DELETE", f"/api/links/{code}", None),
        ):
            response = mallory.client.request(method, path, json=body)
            # 404, as for a code that does not exist: not even existence is confirmed.
            problem = assert_problem(response, 404)
            assert problem["type"].endswith("/link-not-found"), (method, path)

    # Not listed, however searched for.
    for params in ({"q": alias}, {"q": "example.org/alice"}, {"limit": 100}):
        items = mallory.client.get("/api/links", params=params).json()["items"]
        assert not {item["code"] for item in items} & {alias, batched}, params
    # find_if_exists finds only your own links: Mallory gets a new link, never Alice's.
    for response in (
        post_json(mallory.client, "/api/links", {"url": target, "find_if_exists": True}),
        post_json(
            mallory.client, "/api/links/batch", {"links": [{"url": target, "find_if_exists": True}]}
        ),
    ):
        document = response.json()
        link = document["results"][0]["link"] if "results" in document else document
        assert link["code"] != alias
    # An alias is a public path, so taking Alice's is a conflict; her link stays hers.
    assert_problem(post_json(mallory.client, "/api/links", {"url": target, "alias": alias}), 409)
    item = post_json(
        mallory.client, "/api/links/batch", {"links": [{"url": target, "alias": alias}]}
    ).json()["results"][0]
    assert item["status"] == 409

    rows = stack.sql(
        "SELECT code, url, max_visits IS NULL, owner_id FROM shortener.links"
        " WHERE code IN (:'a', :'b') ORDER BY code = :'a' DESC",
        a=alias,
        b=batched,
    ).splitlines()
    assert rows == [f"{alias}|{target}|t|{alice.id}", f"{batched}|{target}/b|t|{alice.id}"]
    assert alice.client.get(f"/{alias}").headers["location"] == target


# ---- keys and secrets never reach a log ---------------------------------------------------


def forms_of(key: str) -> list[str]:
    """A key as it could leak: itself, its random part, its SHA-256 (stored) in hex."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    return [key, key.removeprefix("shk_"), digest]


def every_log(stack: Stack) -> str:
    """Everything every service of the stack has logged, the exited migrate job's too."""
    return stack.compose("logs", "--no-color", "--timestamps")


def access_lines(stack: Stack, request_id: str) -> list[dict]:
    """uvicorn's access line for one request, in the api's log."""
    lines = logged_with(stack, "api", request_id)
    return [line for line in lines if line.get("logger") == "uvicorn.access"]


def test_keys_never_appear_in_any_log(stack: Stack, alice_and_mallory: tuple[Owner, Owner]) -> None:
    alice, _ = alice_and_mallory
    revoked = stack.create_api_key("revoked")
    unknown = "shk_" + secrets.token_urlsafe(32)  # well-formed, never issued
    in_url: dict[str, str] = {}  # key -> request id of the request with it in its URL
    with patient_client(stack) as client:
        for key in (alice.key, revoked, unknown, "not-a-key-" + secrets.token_hex(16)):
            for scheme in ("Bearer", "bearer", "Basic", "Token"):
                client.get("/api/links", headers={"Authorization": f"{scheme} {key}"})
            # In the wrong places too: a query parameter and a cookie are not credentials.
            response = client.get("/api/links", params={"api_key": key})
            in_url[key] = response.headers["x-request-id"]
            client.get("/health/live", headers={"Cookie": f"key={key}"})
            post_json(client, "/api/links", {"url": "ftp://x", "alias": key})
        stack.exec("api", "python", "-m", "shortener.keys", "revoke", revoked[4:12])
        for scheme in ("Bearer", "Basic"):
            refused = client.get("/api/links", headers={"Authorization": f"{scheme} {revoked}"})
            assert refused.status_code == 401

    # A key in a URL is logged cut to its public prefix (enough to tell which key to
    # revoke) by nginx and by the api, each on its own: the request's line in each log.
    for key in (alice.key, revoked, unknown):
        cut = f"/api/links?api_key={key[:12]}[redacted]"
        [by_nginx] = wait_for(
            "nginx line", lambda rid=in_url[key]: logged_with(stack, "proxy", rid)
        )
        assert by_nginx["uri"] == cut, by_nginx
        [by_api] = wait_for("api line", lambda rid=in_url[key]: access_lines(stack, rid))
        assert f'"GET {cut} HTTP/1.1" 401' in by_api["message"], by_api

    logs = every_log(stack)
    for key in (alice.key, revoked, unknown):
        for form in forms_of(key):
            assert form not in logs, "an API key (or its hash) appears in a log"


def test_no_secret_value_appears_in_any_log(stack: Stack) -> None:
    logs = every_log(stack)
    assert len(logs.splitlines()) > 10
    for value in stack.secret_values():
        assert value not in logs, "a secret value appears in a log"


def test_link_passwords_and_their_hashes_appear_in_no_log(
    stack: Stack, alice_and_mallory: tuple[Owner, Owner]
) -> None:
    alice, _ = alice_and_mallory
    password = "pw-" + secrets.token_hex(8)
    with patient_client(stack) as client:
        made = client.post(
            "/api/links",
            json={"url": "https://example.org/pw", "password": password},
            headers={"Authorization": f"Bearer {alice.key}"},
        )
        code = made.json()["code"]
        client.get(f"/{code}", headers={"Link-Password": "wrong-" + password})
        client.get(f"/{code}", headers={"Link-Password": password})
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        client.post(f"/{code}", content=f"password={password}", headers=form)
    stored = stack.sql("SELECT password_hash FROM shortener.links WHERE code = :'code'", code=code)
    assert stored.startswith("$argon2id$")
    logs = every_log(stack)
    assert code in logs  # the requests were logged
    for secret in (password, stored, stored.split("$")[-1]):  # the hash, and its digest
        assert secret not in logs


# ---- nor in any image we build ------------------------------------------------------------

# A variable named like a secret that holds a value (`*_FILE` names a file: allowed).
SECRET_ASSIGNMENT = re.compile(r"\b\w*(PASSWORD|SECRET|TOKEN|API_KEY)\w*=(?!/run/secrets/)\S")


def test_no_secret_in_the_history_of_any_image(stack: Stack) -> None:
    images = {stack.inspect(container)["Config"]["Image"] for container in stack.containers()}
    # Ours (api, worker, proxy) and the bases they and the data stores run on.
    assert len(images) >= 5, images
    values = stack.secret_values()
    for image in sorted(images):
        history = run(["docker", "history", "--no-trunc", "--format", "{{json .}}", image]).stdout
        config = json.loads(run(["docker", "image", "inspect", image]).stdout)[0]["Config"]
        text = history + json.dumps(config.get("Env") or []) + json.dumps(config.get("Labels"))
        for value in values:
            assert value not in text, f"a secret value is in {image}"
        assert not SECRET_ASSIGNMENT.search(text), (image, SECRET_ASSIGNMENT.search(text))
        assert "shk_" not in text, f"something like an API key is in {image}"


# ---- the data stores refuse what the app must not do ------------------------------------


DDL = [
    "CREATE TABLE shortener.intruder (id int)",
    "CREATE TABLE public.intruder (id int)",
    "CREATE SCHEMA intruder",
    "DROP TABLE shortener.links",
    "ALTER TABLE shortener.links ADD COLUMN note text",
    "TRUNCATE shortener.links",
    "CREATE INDEX intruder ON shortener.links (url)",
    "ALTER ROLE shortener_app CREATEROLE",
]


def test_postgres_refuses_the_app_role_any_ddl(stack: Stack) -> None:
    # As the api and worker connect: the app role, over TCP, with its password secret.
    script = (
        'export PGPASSWORD="$(cat /run/secrets/database_app_password)"; '
        'for statement in "$@"; do '
        'psql -h 127.0.0.1 -U shortener_app -d shortener -tAq -c "$statement" 2>&1 '
        "| head -n1; done"
    )
    before = stack.sql("SELECT count(*) FROM shortener.links")
    output = stack.exec("database", "sh", "-c", script, "sh", *DDL).splitlines()
    assert len(output) == len(DDL), output
    for statement, answer in zip(DDL, output, strict=True):
        assert answer.startswith("ERROR:"), (statement, answer)
        assert "permission denied" in answer or "must be owner" in answer, (statement, answer)
    assert stack.sql("SELECT count(*) FROM shortener.links") == before
    assert stack.sql("SELECT to_regclass('shortener.intruder') IS NULL") == "t"
    # The control: the same connection may read.
    reads = stack.exec("database", "sh", "-c", script, "sh", "SELECT count(*) FROM links")
    assert reads.strip() == before


REDIS_PROBE = """
import socket, sys
def ask(*lines):
    with socket.create_connection(("cache", 6379), timeout=5) as s:
        s.sendall("".join(line + "\\r\\n" for line in lines).encode())
        return s.recv(4096).decode().splitlines()
print(ask("PING")[0])
print(ask("KEYS *")[0])
print(ask("AUTH wrong-password", "PING")[0])
print(ask("AUTH default wrong-password", "GET x")[0])
"""


def test_redis_refuses_clients_without_the_password(stack: Stack) -> None:
    # In the cache container itself (redis-cli without REDISCLI_AUTH) ...
    for command in (["PING"], ["KEYS", "*"], ["CONFIG", "GET", "requirepass"]):
        answer = stack.exec("cache", "redis-cli", *command, check=False)
        assert "NOAUTH" in answer, (command, answer)
    wrong = stack.exec(
        "cache", "redis-cli", "--no-auth-warning", "-a", "wrong", "PING", check=False
    )
    assert "WRONGPASS" in wrong or "NOAUTH" in wrong, wrong
    # ... and over the backend network, from the api's container (it has no redis-cli).
    answers = stack.exec("api", "python", "-c", REDIS_PROBE).splitlines()
    assert [answer.split()[0] for answer in answers] == [
        "-NOAUTH",
        "-NOAUTH",
        "-WRONGPASS",
        "-WRONGPASS",
    ], answers
    # The control: with the password from the secret file, the same server answers.
    assert stack.redis("PING") == "PONG"
