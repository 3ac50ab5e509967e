"""Scoped, expiring API keys against the real Postgres and Redis (api/shortener/keys/).

The route x scope matrix is read from the app's own OpenAPI document: a route added
without a scope, or with a scope the check does not enforce, fails here. Two apps on one
Postgres and one Redis stand for two replicas.
"""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
import redis

from shortener.app import create_app
from shortener.keys.__main__ import revoke as revoke_command
from shortener.keys.cache import check_name
from shortener.keys.scopes import ALL_SCOPES
from shortener.keys.secrets import key_hash, key_prefix
from shortener.keys.store import create_key
from shortener.settings import Settings
from tests.integration.conftest import ServeApi
from tests.integration.containers import APP, Postgres, closed_port

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

# The one route any valid key may call, whatever its scopes (the web page asks it).
ANY_KEY = {("get", "/api/keys/current")}
# Paths under /api/ that need no key: the API's own description.
PUBLIC = {"/api/openapi.json", "/api/docs"}
TARGET = "https://example.org/keys"
PAST = "2020-01-01T00:00:00Z"
PATH_VALUES = {
    "code": "nOsUcHcOdE",
    "webhook_id": "1",
    "delivery_id": "1",
    "prefix": "nOsUcH00",
    "tag": "no-such-tag",
    "job_id": "1",
    "import_id": "1",
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def new_key(
    postgres: Postgres, scopes: frozenset[str] = ALL_SCOPES, expires_at: datetime | None = None
) -> str:
    with postgres.connect(APP) as conn:
        return create_key(conn, "test", scopes, expires_at)[1]


def secured_routes(settings: Settings) -> list[tuple[str, str, list[str]]]:
    """(method, path, scopes) of every operation with a security requirement."""
    document = create_app(settings).openapi()
    routes = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            requirement = operation.get("security")
            if requirement is None:
                assert not path.startswith("/api/") or path in PUBLIC, (
                    f"{method.upper()} {path} needs no key: add a scope alias (keys/auth.py)"
                )
                continue
            (scheme,) = requirement
            routes.append((method, path, scheme["HTTPBearer"]))
    return routes


def request_for(method: str, path: str) -> dict:
    url = path.format(**PATH_VALUES)
    body = {"json": {}} if method in ("post", "patch", "put") else {}
    return {"method": method.upper(), "url": url, **body}


async def test_every_route_refuses_a_key_without_its_scope_and_serves_one_with_only_it(
    client: httpx.AsyncClient, postgres: Postgres, api_settings: Settings
) -> None:
    routes = secured_routes(api_settings)
    assert len(routes) >= 20  # links, stats, qr, webhooks, keys: the matrix is not empty
    for method, path, scopes in routes:
        where = f"{method.upper()} {path}"
        if (method, path) in ANY_KEY:
            assert scopes == [], where
            for scope in ALL_SCOPES:
                only = new_key(postgres, frozenset({scope}))
                response = await client.request(**request_for(method, path), headers=bearer(only))
                assert response.status_code == 200, (where, scope, response.text)
            continue
        # One scope per route: the narrowest (docs/api.md, "Scopes").
        assert len(scopes) == 1 and scopes[0] in ALL_SCOPES, (where, scopes)
        (scope,) = scopes
        lacking = new_key(postgres, ALL_SCOPES - {scope})
        refused = await client.request(**request_for(method, path), headers=bearer(lacking))
        assert refused.status_code == 403, (where, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["type"].endswith("/insufficient-scope"), where
        assert problem["missing_scopes"] == [scope] and scope in problem["detail"], where
        assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]

        only = new_key(postgres, frozenset({scope}))
        served = await client.request(**request_for(method, path), headers=bearer(only))
        assert served.status_code not in (401, 403), (where, served.text)


async def test_a_read_only_key_reads_and_cannot_write(
    client: httpx.AsyncClient, postgres: Postgres
) -> None:
    created = await client.post("/api/links", json={"url": "https://example.org/ro"})
    code = created.json()["code"]
    made = await client.post(
        "/api/keys", json={"name": "viewer", "scopes": ["links:read", "stats:read"]}
    )
    assert made.status_code == 201, made.text
    viewer = bearer(made.json()["key"])
    # A key made through the API acts on the links of the key that made it.
    assert (await client.get(f"/api/links/{code}", headers=viewer)).status_code == 200
    assert (await client.get(f"/api/links/{code}/stats", headers=viewer)).status_code == 200
    patched = await client.patch(f"/api/links/{code}", json={"url": "x"}, headers=viewer)
    assert patched.status_code == 403
    assert patched.json()["missing_scopes"] == ["links:write"]
    current = await client.get("/api/keys/current", headers=viewer)
    assert current.json() == {
        "prefix": made.json()["prefix"],
        "name": "viewer",
        "scopes": ["links:read", "stats:read"],
        "expires_at": None,
    }


async def test_keys_are_listed_without_secrets_and_shown_once(
    client: httpx.AsyncClient, api_key: str
) -> None:
    made = await client.post("/api/keys", json={"name": "ci", "scopes": ["links:write"]})
    assert made.status_code == 201
    secret = made.json()["key"]
    assert key_prefix(secret) == made.json()["prefix"]
    listing = await client.get("/api/keys")
    assert listing.status_code == 200
    items = listing.json()["items"]
    assert [item["prefix"] for item in items] == [key_prefix(api_key), made.json()["prefix"]]
    assert set(items[1]) == {
        "prefix", "name", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at"
    }  # fmt: skip
    assert secret not in listing.text and "hash" not in listing.text
    assert items[0]["scopes"] == sorted(ALL_SCOPES)


async def test_a_key_never_grants_more_than_it_has(
    client: httpx.AsyncClient, postgres: Postgres
) -> None:
    until = datetime.now(UTC) + timedelta(days=1)
    admin = bearer(new_key(postgres, frozenset({"keys:admin", "links:read"}), until))

    wider = await client.post(
        "/api/keys", json={"name": "w", "scopes": ["links:write"]}, headers=admin
    )
    assert wider.status_code == 403, wider.text
    assert wider.json()["type"].endswith("/grant-exceeds-key")
    assert wider.json()["missing_scopes"] == ["links:write"]

    later = (until + timedelta(seconds=1)).isoformat()
    longer = await client.post(
        "/api/keys",
        json={"name": "l", "scopes": ["links:read"], "expires_at": later},
        headers=admin,
    )
    assert longer.status_code == 403, longer.text
    assert longer.json()["field"] == "expires_at"

    # Absent: the maker's own expiry, not "never".
    same = await client.post(
        "/api/keys", json={"name": "s", "scopes": ["links:read"]}, headers=admin
    )
    assert same.status_code == 201, same.text
    assert datetime.fromisoformat(same.json()["expires_at"]) == until


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "scopes": ["links:delete"]}, "scopes.0"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "", "scopes": ["links:read"]}, "name"),
        ({"name": "a\nb", "scopes": ["links:read"]}, "name"),
        (
            {"name": "x", "scopes": ["links:read"], "expires_at": "2020-01-01T00:00:00Z"},
            "expires_at",
        ),
        ({"name": "x", "scopes": ["links:read"], "expires_at": "2030-01-01"}, "expires_at"),
        ({"name": "x", "scopes": ["links:read"], "admin": True}, "admin"),
    ],
)
async def test_an_invalid_key_request_names_the_field(
    client: httpx.AsyncClient, body: dict, field: str
) -> None:
    response = await client.post("/api/keys", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_only_the_owners_keys_can_be_revoked_and_a_bad_prefix_is_422(
    client: httpx.AsyncClient, postgres: Postgres
) -> None:
    stranger = new_key(postgres)
    assert (await client.delete(f"/api/keys/{key_prefix(stranger)}")).status_code == 404
    assert (await client.get("/api/links", headers=bearer(stranger))).status_code == 200
    assert (await client.delete("/api/keys/short")).status_code == 422


async def test_a_revoked_key_is_refused_at_once_on_every_replica(
    serve_api: ServeApi, api_settings: Settings, cache: redis.Redis
) -> None:
    async with serve_api(api_settings) as first, serve_api(api_settings) as second:
        made = await first.post("/api/keys", json={"name": "r", "scopes": ["links:read"]})
        revocable = made.json()["key"]
        for replica in (first, second):  # both warm: the check is cached in Redis
            assert (await replica.get("/api/links", headers=bearer(revocable))).status_code == 200
        assert cache.exists(check_name(key_hash(revocable)))

        revoked = await first.delete(f"/api/keys/{made.json()['prefix']}")
        assert revoked.status_code == 204
        for replica in (second, first):
            response = await replica.get("/api/links", headers=bearer(revocable))
            assert response.status_code == 401, response.text
        listed = (await first.get("/api/keys")).json()["items"]
        assert next(k for k in listed if k["prefix"] == made.json()["prefix"])["revoked_at"]


async def test_a_key_revoked_from_the_command_line_is_refused_at_once_on_every_replica(
    serve_api: ServeApi, api_settings: Settings, postgres: Postgres
) -> None:
    revocable = new_key(postgres)
    async with serve_api(api_settings) as first, serve_api(api_settings) as second:
        for replica in (first, second):
            assert (await replica.get("/api/links", headers=bearer(revocable))).status_code == 200
        assert revoke_command(api_settings, key_prefix(revocable)) == 0
        for replica in (first, second):
            assert (await replica.get("/api/links", headers=bearer(revocable))).status_code == 401


async def test_an_expired_key_is_refused_on_every_replica_with_a_warm_cache(
    serve_api: ServeApi, api_settings: Settings, postgres: Postgres, cache: redis.Redis
) -> None:
    expires_at = datetime.now(UTC) + timedelta(seconds=1.5)
    mortal = new_key(postgres, expires_at=expires_at)
    async with serve_api(api_settings) as first, serve_api(api_settings) as second:
        for replica in (first, second):
            assert (await replica.get("/api/links", headers=bearer(mortal))).status_code == 200
        await asyncio.sleep((expires_at - datetime.now(UTC)).total_seconds() + 0.1)
        assert cache.exists(check_name(key_hash(mortal)))  # still cached: refused anyway
        for replica in (first, second):
            response = await replica.get("/api/links", headers=bearer(mortal))
            assert response.status_code == 401
            assert "expired" in response.json()["detail"]


async def test_a_key_that_expired_in_the_database_is_refused_once_its_entry_is_gone(
    client: httpx.AsyncClient, postgres: Postgres, app_db: psycopg.Connection
) -> None:
    # Set in the past before any request: the check reads it from Postgres.
    past = new_key(postgres)
    app_db.execute(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE prefix = %s",
        (key_prefix(past),),
    )
    assert (await client.get("/api/links", headers=bearer(past))).status_code == 401
    assert (await client.get("/api/keys/current", headers=bearer(past))).status_code == 401


def last_used(app_db: psycopg.Connection, key: str) -> datetime | None:
    return app_db.execute(
        "SELECT last_used_at FROM api_keys WHERE prefix = %s", (key_prefix(key),)
    ).fetchone()[0]


async def test_last_use_is_written_once_a_minute_not_per_request(
    client: httpx.AsyncClient, api_key: str, app_db: psycopg.Connection, cache: redis.Redis
) -> None:
    assert last_used(app_db, api_key) is None
    await client.get("/api/links")
    first = last_used(app_db, api_key)
    assert first is not None
    for _ in range(5):
        await client.get("/api/links")
    assert last_used(app_db, api_key) == first

    # A minute later (as the database sees it), once the cached check has expired:
    app_db.execute("UPDATE api_keys SET last_used_at = last_used_at - interval '61 seconds'")
    cache.delete(check_name(key_hash(api_key)))
    await client.get("/api/links")
    second = last_used(app_db, api_key)
    assert second is not None and second > first
    await client.get("/api/links")
    assert last_used(app_db, api_key) == second


async def test_without_redis_keys_are_checked_in_postgres_and_revokes_refused(
    serve_api: ServeApi,
    make_api_settings: Callable[..., Settings],
    postgres: Postgres,
    app_db: psycopg.Connection,
    api_key: str,
) -> None:
    settings = make_api_settings(redis_host="127.0.0.1", redis_port=closed_port())
    reader = new_key(postgres, frozenset({"links:read"}))
    gone = new_key(postgres)
    assert revoke_command(settings, key_prefix(gone)) == 1  # refused: nothing revoked
    with postgres.connect(APP) as conn:
        conn.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE prefix = %s", (key_prefix(gone),)
        )
    async with serve_api(settings) as client:
        for _ in range(3):
            assert (await client.get("/api/links")).status_code == 200
        written = last_used(app_db, api_key)
        assert written is not None
        assert (await client.get("/api/links")).status_code == 200
        assert last_used(app_db, api_key) == written  # still once a minute
        assert (await client.get("/api/links", headers=bearer(reader))).status_code == 200
        denied = await client.post(
            "/api/links", json={"url": "https://e.org"}, headers=bearer(reader)
        )
        assert denied.status_code == 403
        assert (await client.get("/api/links", headers=bearer(gone))).status_code == 401

        made = await client.post("/api/keys", json={"name": "kept", "scopes": ["links:read"]})
        kept = made.json()["key"]
        refused = await client.delete(f"/api/keys/{key_prefix(kept)}")
        assert refused.status_code == 503, refused.text
        assert refused.json()["type"].endswith("/cache-unavailable")
        assert (await client.get("/api/links", headers=bearer(kept))).status_code == 200


async def test_a_links_history_names_the_key_that_changed_it(
    client: httpx.AsyncClient, api_key: str
) -> None:
    made = await client.post("/api/keys", json={"name": "writer", "scopes": ["links:write"]})
    writer = bearer(made.json()["key"])
    created = await client.post("/api/links", json={"url": TARGET}, headers=writer)
    code = created.json()["code"]
    await client.patch(f"/api/links/{code}", json={"url": TARGET + "/2"})
    events = (await client.get(f"/api/links/{code}/history")).json()["items"]
    # Newest first: the owner's change, then the create by the key it made.
    assert [e["key_prefix"] for e in events] == [key_prefix(api_key), made.json()["prefix"]]
