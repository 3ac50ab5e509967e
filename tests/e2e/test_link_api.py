"""Every link endpoint through nginx, with a key made by the api image's own CLI."""

import json

import httpx
import pytest

from tests.e2e.hostile import assert_problem, patient_client
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


def test_every_endpoint_through_the_proxy(client: httpx.Client) -> None:
    created = client.post(
        "/api/links", json={"url": "https://example.org/e2e", "alias": "e2e-every", "max_visits": 9}
    )
    assert created.status_code == 201, created.text
    assert client.get("/api/links/e2e-every").json()["max_visits"] == 9
    assert "e2e-every" in [
        item["code"] for item in client.get("/api/links?q=e2e-every").json()["items"]
    ]

    patched = client.patch("/api/links/e2e-every", json={"url": "https://example.org/moved"})
    assert patched.json()["url"] == "https://example.org/moved"
    assert client.get("/e2e-every").headers["location"] == "https://example.org/moved"

    batch = client.post(
        "/api/links/batch", json={"links": [{"url": "https://example.org/b1"}, {"url": "ftp://x"}]}
    ).json()
    assert [item["status"] for item in batch["results"]] == [201, 422]

    assert client.delete("/api/links/e2e-every").status_code == 204
    assert client.get("/e2e-every").status_code == 404


# Outside /api/ the schema's operations are public by design; anything new there must be
# added here on purpose. Everything under /api/ needs a key (the docs page and the schema
# are not operations of the schema).
# POST /{code}: the unlock form of a password-protected link (its password is the key).
PUBLIC_OPERATIONS = {
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/{code}"),
    ("POST", "/{code}"),
}
# A body each operation would accept with a key, so a 401 is the key's doing alone.
VALID_BODIES: dict[tuple[str, str], object] = {
    ("POST", "/api/links"): {"url": "https://example.org/anonymous"},
    ("POST", "/api/links/batch"): {"links": [{"url": "https://example.org/anonymous"}]},
    ("PATCH", "/api/links/{code}"): {"url": "https://example.org/anonymous", "max_visits": 1},
    ("POST", "/api/webhooks"): {"url": "https://hooks.example.org/x", "events": ["link.created"]},
    ("POST", "/api/keys"): {"name": "anonymous", "scopes": ["links:read"]},
    ("POST", "/api/links/bulk-delete"): {"codes": ["anonymous"]},
    ("PATCH", "/api/tags/{tag}"): {"name": "anonymous"},
}


def test_link_endpoints_need_a_key(stack: Stack, client: httpx.Client) -> None:
    target = "https://example.org/public"
    code = client.post("/api/links", json={"url": target}).json()["code"]
    with patient_client(stack) as anonymous:
        # The live schema, as served: a route added later is in this list by itself.
        schema = anonymous.get("/api/openapi.json").json()
        operations = [
            (method.upper(), path)
            for path, item in schema["paths"].items()
            for method in item
            if method in {"get", "put", "post", "patch", "delete"}
        ]
        keyed = [(method, path) for method, path in operations if path.startswith("/api/")]
        assert set(operations) - set(keyed) == PUBLIC_OPERATIONS, operations
        assert ("GET", "/api/links/{code}/qr") in keyed, keyed  # the list is the schema's
        for method, path in keyed:
            # An existing link's code: refused for the missing key, not for the code.
            target_path = (
                path.replace("{code}", code)
                .replace("{webhook_id}", "1")
                .replace("{delivery_id}", "1")
                .replace("{prefix}", "AbCd1234")
                .replace("{tag}", "some-tag")
                .replace("{job_id}", "1")
            )
            response = anonymous.request(method, target_path, json=VALID_BODIES.get((method, path)))
            problem = assert_problem(response, 401)
            assert problem["type"].endswith("/unauthorized"), (method, path, problem)
            assert response.headers["www-authenticate"] == "Bearer", (method, path)
        # Redirects stay public: the link answers anyone, GET and HEAD alike.
        for method in ("GET", "HEAD"):
            redirect = anonymous.request(method, f"/{code}")
            assert (redirect.status_code, redirect.headers["location"]) == (302, target)
    # Nothing the anonymous requests sent was stored or changed.
    assert stack.sql("SELECT url FROM shortener.links WHERE code = :'code'", code=code) == target
    assert stack.sql("SELECT count(*) FROM shortener.links WHERE url LIKE '%/anonymous'") == "0"


def test_revoked_key_stops_working(stack: Stack) -> None:
    key = stack.create_api_key("short-lived")
    prefix = key.removeprefix("shk_")[:8]
    headers = {"Authorization": f"Bearer {key}"}
    with stack.client() as client:
        assert client.get("/api/links", headers=headers).status_code == 200
        stack.exec("api", "python", "-m", "shortener.keys", "revoke", prefix)
        assert client.get("/api/links", headers=headers).status_code == 401
    listing = stack.exec("api", "python", "-m", "shortener.keys", "list")
    assert f"{prefix}\trevoked" in listing
    assert key not in listing


def fetch_from_replica(stack: Stack, container: str, path: str) -> tuple[int, str]:
    """GET a path from one api replica directly (inside its own container)."""
    script = (
        "import http.client, json, sys\n"
        "c = http.client.HTTPConnection('127.0.0.1', 8000, timeout=5)\n"
        f"c.request('GET', {path!r})\n"
        "r = c.getresponse()\n"
        "print(json.dumps([r.status, r.getheader('location') or '']))\n"
    )
    out = stack.exec_in(container, "python", "-c", script)
    status, location = json.loads(out)
    return status, location


def test_an_edit_reaches_every_api_replica_at_once(stack: Stack, client: httpx.Client) -> None:
    stack.compose("up", "--detach", "--wait", "--scale", "api=2", "--no-recreate", timeout=300)
    try:
        replicas = stack.compose("ps", "--quiet", "api").split()
        assert len(replicas) == 2
        code = client.post("/api/links", json={"url": "https://example.org/v1"}).json()["code"]
        for replica in replicas:  # each replica answers (and the cache is filled)
            assert fetch_from_replica(stack, replica, f"/{code}") == (302, "https://example.org/v1")

        client.patch(f"/api/links/{code}", json={"url": "https://example.org/v2"})
        for replica in replicas:
            assert fetch_from_replica(stack, replica, f"/{code}") == (302, "https://example.org/v2")

        client.delete(f"/api/links/{code}")
        for replica in replicas:
            assert fetch_from_replica(stack, replica, f"/{code}")[0] == 404
    finally:
        stack.compose("up", "--detach", "--wait", "--scale", "api=1", "--no-recreate", timeout=300)


SLACKBOT = {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"}
PERSON = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}


@pytest.mark.parametrize("max_visits", [1, 2])
def test_a_limited_link_shared_in_a_chat_is_left_for_people(
    client: httpx.Client, stack: Stack, max_visits: int
) -> None:
    """The bug a new user found: `curl -I` and a chat's preview bot used up the visits."""
    created = client.post(
        "/api/links", json={"url": "https://example.org/chat", "max_visits": max_visits}
    )
    code = created.json()["code"]
    with stack.client() as anyone:
        assert anyone.head(f"/{code}", headers=PERSON).status_code == 302
        preview = anyone.get(f"/{code}", headers=SLACKBOT)
        assert (preview.status_code, preview.headers["location"]) == (
            302,
            "https://example.org/chat",
        )
        people = [anyone.get(f"/{code}", headers=PERSON).status_code for _ in range(3)]
        assert people == [302] * max_visits + [410] * (3 - max_visits)
        assert anyone.head(f"/{code}", headers=PERSON).status_code == 410
        assert anyone.get(f"/{code}", headers=SLACKBOT).status_code == 410
    counted = stack.sql("SELECT visit_count FROM shortener.links WHERE code = :'code'", code=code)
    assert counted.strip() == str(max_visits)
