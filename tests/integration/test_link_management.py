"""The link management API against real Postgres and Redis: ownership, options, edits
taking effect at once, exact visit limits, alias races, batches and pagination."""

from collections.abc import Callable

import anyio
import httpx
import psycopg
import pytest
import redis

from shortener.keys.__main__ import revoke as revoke_command
from shortener.keys.store import create_key
from shortener.settings import Settings
from tests.integration.containers import APP, Postgres

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

TARGET = "https://example.org/page"


@pytest.fixture
def other_key(postgres: Postgres) -> dict[str, str]:
    """Headers of a second key: it owns nothing the `client` fixture's key created."""
    with postgres.connect(APP) as conn:
        _, key = create_key(conn, "someone else")
    return {"Authorization": f"Bearer {key}"}


async def create(client: httpx.AsyncClient, **fields: object) -> dict:
    response = await client.post("/api/links", json={"url": TARGET, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def test_link_object_carries_every_option(client: httpx.AsyncClient) -> None:
    link = await create(
        client,
        alias="my-Alias_1",
        expires_at="2099-01-01T00:00:00Z",
        max_visits=3,
        redirect_type=308,
        forward_query=True,
    )
    assert link["code"] == "my-Alias_1"
    assert link["alias"] is True
    assert link["max_visits"] == 3
    assert link["visits"] == 0
    assert link["redirect_type"] == 308
    assert link["forward_query"] is True
    assert link["expires_at"].startswith("2099-01-01T00:00:00")
    assert (await client.get("/api/links/my-Alias_1")).json() == link


async def test_aliases_are_unique_and_case_sensitive(client: httpx.AsyncClient) -> None:
    await create(client, alias="Promo")
    taken = await client.post("/api/links", json={"url": TARGET, "alias": "Promo"})
    assert taken.status_code == 409
    assert taken.json()["type"].endswith("/alias-taken")
    assert [e["field"] for e in taken.json()["errors"]] == ["alias"]
    assert (
        await client.post("/api/links", json={"url": TARGET, "alias": "promo"})
    ).status_code == 201


async def test_two_concurrent_creates_of_one_alias_exactly_one_wins(
    client: httpx.AsyncClient,
) -> None:
    statuses: list[int] = []

    async def attempt(n: int) -> None:
        response = await client.post("/api/links", json={"url": f"{TARGET}/{n}", "alias": "race"})
        statuses.append(response.status_code)

    async with anyio.create_task_group() as group:
        for n in range(8):
            group.start_soon(attempt, n)
    assert sorted(statuses) == [201] + [409] * 7


async def test_another_keys_link_does_not_exist_for_you(
    client: httpx.AsyncClient, other_key: dict[str, str]
) -> None:
    code = (await create(client))["code"]
    for request in (
        client.build_request("GET", f"/api/links/{code}", headers=other_key),
        client.build_request(
            "PATCH", f"/api/links/{code}", json={"url": "https://evil.example/"}, headers=other_key
        ),
        client.build_request("DELETE", f"/api/links/{code}", headers=other_key),
    ):
        response = await client.send(request)
        assert response.status_code == 404, request.method
    listing = await client.get("/api/links", headers=other_key)
    assert listing.json() == {"items": [], "next_cursor": None}
    # Untouched, and still redirecting to the owner's target.
    assert (await client.get(f"/{code}")).headers["location"] == TARGET


async def test_a_revoked_key_is_refused(
    client: httpx.AsyncClient, postgres: Postgres, api_settings: Settings
) -> None:
    with postgres.connect(APP) as conn:
        record, key = create_key(conn, "short-lived")
    headers = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/api/links", headers=headers)).status_code == 200  # cached
    # As `make revoke-key` does it (tests/integration/test_key_scopes.py: every replica).
    assert revoke_command(api_settings, record.prefix) == 0
    response = await client.get("/api/links", headers=headers)
    assert response.status_code == 401
    assert response.json()["type"].endswith("/unauthorized")


async def test_patch_and_delete_take_effect_at_once_despite_the_cache(
    client: httpx.AsyncClient, cache: redis.Redis
) -> None:
    code = (await create(client))["code"]
    assert (await client.get(f"/{code}")).headers["location"] == TARGET
    assert cache.exists(f"link:{code}")  # the redirect is now cached

    patched = await client.patch(f"/api/links/{code}", json={"url": "https://example.org/new"})
    assert patched.status_code == 200
    assert patched.json()["url"] == "https://example.org/new"
    assert (await client.get(f"/{code}")).headers["location"] == "https://example.org/new"

    assert (await client.delete(f"/api/links/{code}")).status_code == 204
    assert (await client.get(f"/{code}")).status_code == 404
    assert (await client.get(f"/api/links/{code}")).status_code == 404


async def test_patch_can_clear_expiry_and_change_redirect_type(client: httpx.AsyncClient) -> None:
    code = (await create(client, expires_at="2099-01-01T00:00:00Z"))["code"]
    patched = (
        await client.patch(f"/api/links/{code}", json={"expires_at": None, "redirect_type": 301})
    ).json()
    assert patched["expires_at"] is None
    assert patched["redirect_type"] == 301
    response = await client.get(f"/{code}")
    assert response.status_code == 301
    assert response.headers["cache-control"] == "private, max-age=3600"


async def test_expiry_is_rfc_3339_text_never_a_timestamp(
    client: httpx.AsyncClient, app_db: psycopg.Connection
) -> None:
    # Lower-case "t" and "z", a fraction, an offset: RFC 3339, stored as the instant meant.
    link = await create(client, expires_at="2099-06-01t12:00:00.5+02:00")
    stored = app_db.execute(
        "SELECT expires_at = '2099-06-01 10:00:00.5+00' FROM links WHERE code = %s",
        (link["code"],),
    ).fetchone()
    assert stored == (True,)
    # A Unix timestamp, as a number or as text (pydantic's lax mode took both), is refused
    # on create, PATCH and in a batch, and changes nothing.
    for timestamp in (4070908800, "4070908800"):
        created = await client.post("/api/links", json={"url": TARGET, "expires_at": timestamp})
        assert created.status_code == 422
        assert [e["field"] for e in created.json()["errors"]] == ["expires_at"]
        patched = await client.patch(f"/api/links/{link['code']}", json={"expires_at": timestamp})
        assert patched.status_code == 422
        assert [e["field"] for e in patched.json()["errors"]] == ["expires_at"]
        batch = await client.post(
            "/api/links/batch", json={"links": [{"url": TARGET, "expires_at": timestamp}]}
        )
        (item,) = batch.json()["results"]
        assert item["status"] == 422
        assert [e["field"] for e in item["problem"]["errors"]] == ["expires_at"]
    assert app_db.execute("SELECT count(*) FROM links").fetchone() == (1,)
    assert (await client.get(f"/api/links/{link['code']}")).json() == link


async def test_max_visits_holds_exactly_under_concurrency(
    client: httpx.AsyncClient, app_db: psycopg.Connection
) -> None:
    code = (await create(client, max_visits=5))["code"]
    statuses: list[int] = []

    async def visit() -> None:
        statuses.append((await client.get(f"/{code}")).status_code)

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(visit)
    assert sorted(statuses) == [302] * 5 + [410] * 15
    assert app_db.execute("SELECT visit_count FROM links WHERE code = %s", (code,)).fetchone() == (
        5,
    )
    gone = await client.get(f"/{code}")
    assert gone.status_code == 410
    assert gone.json()["type"].endswith("/link-exhausted")


async def test_forward_query_appends_the_incoming_query(client: httpx.AsyncClient) -> None:
    plain = (await create(client))["code"]
    forwarding = (await create(client, url="https://example.org/p?a=1", forward_query=True))["code"]
    assert (await client.get(f"/{plain}?utm=x")).headers["location"] == TARGET
    assert (await client.get(f"/{forwarding}?utm=x")).headers["location"] == (
        "https://example.org/p?a=1&utm=x"
    )


@pytest.mark.parametrize("redirect_type", [301, 302, 307, 308])
async def test_redirect_type_is_the_status(client: httpx.AsyncClient, redirect_type: int) -> None:
    code = (await create(client, redirect_type=redirect_type))["code"]
    assert (await client.get(f"/{code}")).status_code == redirect_type


async def test_find_if_exists_returns_your_existing_link(
    client: httpx.AsyncClient, other_key: dict[str, str]
) -> None:
    first = await create(client)
    again = await client.post("/api/links", json={"url": TARGET, "find_if_exists": True})
    assert again.status_code == 200
    assert again.json()["code"] == first["code"]
    # Another key's link to the same URL is not "yours".
    theirs = await client.post(
        "/api/links", json={"url": TARGET, "find_if_exists": True}, headers=other_key
    )
    assert theirs.status_code == 201
    assert theirs.json()["code"] != first["code"]


async def test_listing_pages_newest_first_and_filters(client: httpx.AsyncClient) -> None:
    codes = [(await create(client, url=f"https://example.org/{n}"))["code"] for n in range(5)]
    await create(client, url="https://other.example/x", alias="needle-alias")

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/links", params=params)).json()
        seen += [item["code"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["needle-alias", *reversed(codes)]

    found = (await client.get("/api/links", params={"q": "needle"})).json()["items"]
    assert [item["code"] for item in found] == ["needle-alias"]
    by_url = (await client.get("/api/links", params={"q": "other.example"})).json()["items"]
    assert [item["code"] for item in by_url] == ["needle-alias"]
    # LIKE wildcards in the text are literal.
    assert (await client.get("/api/links", params={"q": "%"})).json()["items"] == []
    bad = await client.get("/api/links", params={"cursor": "not-a-cursor!"})
    assert bad.status_code == 422


async def test_batch_creates_in_order_with_a_result_per_item(
    client: httpx.AsyncClient, app_db: psycopg.Connection
) -> None:
    await create(client, alias="taken")
    items = [
        {"url": "https://example.org/1"},
        {"url": "ftp://example.org/"},
        {"url": "https://example.org/3", "alias": "taken"},
        {"url": "https://example.org/4", "alias": "batch-alias"},
        {"nonsense": True},
    ]
    response = await client.post("/api/links/batch", json={"links": items})
    assert response.status_code == 200
    body = response.json()
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3, 4]
    assert [r["status"] for r in body["results"]] == [201, 422, 409, 201, 422]
    assert body["created"] == 2
    assert body["failed"] == 3
    assert body["results"][1]["problem"]["errors"][0]["field"] == "url"
    assert body["results"][3]["link"]["code"] == "batch-alias"
    assert app_db.execute("SELECT count(*) FROM links").fetchone() == (3,)


async def test_creation_quota_per_key(
    serve_api: Callable, make_api_settings: Callable, other_key: dict[str, str]
) -> None:
    async with serve_api(make_api_settings(creation_quota_per_minute=3)) as client:
        statuses = [
            (await client.post("/api/links", json={"url": TARGET})).status_code for _ in range(4)
        ]
        assert statuses == [201, 201, 201, 429]
        limited = await client.post("/api/links", json={"url": TARGET})
        assert limited.json()["type"].endswith("/creation-quota-exceeded")
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        # The quota is per key: another key still creates.
        other = await client.post("/api/links", json={"url": TARGET}, headers=other_key)
        assert other.status_code == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/links/a%00b"),
        ("PATCH", "/api/links/a%00b"),
        ("DELETE", "/api/links/a%00b"),
        ("GET", "/api/links/a%00b/stats"),
        ("GET", "/a%00b"),
    ],
)
async def test_a_code_postgres_cannot_hold_is_not_found(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    # nginx refuses %00 in a path (400); behind any other proxy the api is the last line:
    # PostgreSQL text cannot hold NUL, and a query with one must not become a 500.
    body = {"max_visits": 5} if method == "PATCH" else None
    response = await client.request(method, path, json=body)
    assert response.status_code == 404, response.text
    assert response.json()["type"].endswith("/link-not-found")


async def test_a_filter_postgres_cannot_hold_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/links", params={"q": "a\x00b"})
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["q"]
