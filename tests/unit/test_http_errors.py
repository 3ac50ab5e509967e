"""Request errors answered before any backend is touched: problem+json naming the field."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from shortener.app import create_app
from shortener.keys.auth import current_owner
from shortener.settings import Settings


@pytest.fixture
def anonymous(settings: Settings) -> Iterator[TestClient]:
    # No `with`: the lifespan (which would open the pool) does not run; these requests
    # must be answered without a backend.
    yield TestClient(create_app(settings), raise_server_exceptions=True)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """As an authenticated key: the key lookup (a database query) is the integration
    tier's business; here only the HTTP layer's own answers are under test."""
    app = create_app(settings)
    app.dependency_overrides[current_owner] = lambda: 1
    yield TestClient(app, raise_server_exceptions=True)


def problem(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"].startswith("https://shortener.example/problems/")
    assert body["title"] and body["detail"]
    return body


def fields(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    return [error["field"] for error in problem(response)["errors"]]


def test_invalid_url_names_the_field(client: TestClient) -> None:
    response = client.post("/api/links", json={"url": "ftp://example.org/"})
    body = problem(response)
    assert response.status_code == 422
    assert body["type"].endswith("/validation-error")
    assert body["errors"] == [{"field": "url", "message": "must be an http or https URL"}]


def test_link_to_the_shortener_itself_is_refused(client: TestClient) -> None:
    assert fields(client.post("/api/links", json={"url": "https://SHO.RT/abc"})) == ["url"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": "https://e.org", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"url": "https://e.org", "expires_at": "2030-01-01T00:00:00"}, "expires_at"),
        ({"url": "https://e.org", "alias": "ab"}, "alias"),
        ({"url": "https://e.org", "alias": "no/slash"}, "alias"),
        ({"url": "https://e.org", "alias": "API"}, "alias"),
        ({"url": "https://e.org", "alias": "health"}, "alias"),
        ({"url": "https://e.org", "max_visits": 0}, "max_visits"),
        ({"url": "https://e.org", "redirect_type": 303}, "redirect_type"),
        ({"url": "https://e.org", "expire_at": "2030-01-01T00:00:00Z"}, "expire_at"),
    ],
)
def test_invalid_create_names_the_field(client: TestClient, body: dict, field: str) -> None:
    assert fields(client.post("/api/links", json=body)) == [field]


# Forms pydantic's lax mode took: Unix timestamps (as numbers and as text), no seconds, an
# offset without its colon, a space for the "T", a date alone, no offset.
NOT_RFC_3339 = [
    1900000000,
    "1900000000",
    0,
    "2030-01-01",
    "2030-01-01T00:00Z",
    "2030-01-01 00:00:00Z",
    "2030-01-01T00:00:00+0100",
    "2030-01-01T00:00:00+01",
    "2030-01-01T00:00:00",
    "20300101T000000Z",
    True,
]


@pytest.mark.parametrize("expires_at", NOT_RFC_3339)
def test_expiry_must_be_rfc_3339_text_with_an_offset(
    client: TestClient, expires_at: object
) -> None:
    created = client.post("/api/links", json={"url": "https://e.org", "expires_at": expires_at})
    assert fields(created) == ["expires_at"]
    assert problem(created)["errors"][0]["message"] == (
        "must be an RFC 3339 date-time string with a time zone"
    )
    patched = client.patch("/api/links/abc", json={"expires_at": expires_at})
    assert fields(patched) == ["expires_at"]
    # Batch items: tests/integration/test_links_api.py (the batch needs the database).


# `to=0` was taken as 1970-01-01; a date-time as its day; 86400 as 1970-01-02.
NOT_A_DAY = [
    "0",
    "86400",
    "1e3",
    "2026-01-01T00:00:00",
    "2026-01-01T00:00:00Z",
    "2026-1-1",
    "20260101",
    "2026-01-01 ",
    "2026-02-30",
    "yesterday",
    "",
]


@pytest.mark.parametrize("value", NOT_A_DAY)
@pytest.mark.parametrize("name", ["from", "to"])
def test_stats_range_takes_only_iso_days(client: TestClient, name: str, value: str) -> None:
    response = client.get("/api/links/abc/stats", params={name: value})
    assert fields(response) == [name]


def test_patch_refuses_null_for_fields_that_cannot_be_cleared(client: TestClient) -> None:
    response = client.patch("/api/links/abc", json={"url": None, "redirect_type": None})
    assert sorted(fields(response)) == ["redirect_type", "url"]


def test_batch_refuses_an_empty_or_oversized_list(client: TestClient) -> None:
    assert fields(client.post("/api/links/batch", json={"links": []})) == ["links"]
    many = {"links": [{"url": "https://e.org"}] * 1001}
    assert fields(client.post("/api/links/batch", json=many)) == ["links"]


def test_malformed_json_is_a_problem_not_a_500(client: TestClient) -> None:
    response = client.post(
        "/api/links", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    # The body is at fault, not a field called "1" (FastAPI's location is the offset).
    assert fields(response) == ["body"]
    assert problem(response)["errors"][0]["message"].startswith("JSON decode error at character 1")


def test_non_json_body_is_415(client: TestClient) -> None:
    response = client.post(
        "/api/links", content=b"url=https://e.org", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert problem(response)["type"].endswith("/unsupported-media-type")


def test_missing_key_is_401_with_a_challenge(anonymous: TestClient) -> None:
    for response in (
        anonymous.post("/api/links", json={"url": "https://e.org"}),
        anonymous.get("/api/links"),
        anonymous.get("/api/links/abc", headers={"Authorization": "Basic x"}),
        anonymous.delete("/api/links/abc", headers={"Authorization": "Bearer "}),
    ):
        assert response.status_code == 401
        assert problem(response)["type"].endswith("/unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_impossible_code_is_404_without_a_backend(anonymous: TestClient) -> None:
    response = anonymous.get("/not.a.code")
    assert response.status_code == 404
    assert problem(response)["type"].endswith("/link-not-found")


def test_unknown_route_method_is_a_problem(anonymous: TestClient) -> None:
    response = anonymous.delete("/health/live")
    assert response.status_code == 405
    problem(response)


def test_openapi_documents_every_link_endpoint(anonymous: TestClient) -> None:
    paths = anonymous.get("/api/openapi.json").json()["paths"]
    assert set(paths["/api/links"]) == {"get", "post"}
    assert set(paths["/api/links/batch"]) == {"post"}
    assert set(paths["/api/links/{code}"]) == {"get", "patch", "delete"}
