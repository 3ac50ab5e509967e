"""Request errors answered before any backend is touched: problem+json naming the field."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from shortener.app import create_app
from shortener.settings import Settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    # No `with`: the lifespan (which would open the pool) does not run; these requests
    # must be answered without a backend.
    yield TestClient(create_app(settings), raise_server_exceptions=True)


def test_invalid_url_names_the_field(client: TestClient) -> None:
    response = client.post("/api/links", json={"url": "ftp://example.org/"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/validation-error")
    assert body["status"] == 422
    assert body["errors"] == [
        {"field": "url", "message": "Value error, must be an http or https URL"}
    ]
    assert "url" in body["detail"]


def test_missing_url_names_the_field(client: TestClient) -> None:
    response = client.post("/api/links", json={})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["url"]


def test_past_expiry_names_the_field(client: TestClient) -> None:
    response = client.post(
        "/api/links", json={"url": "https://example.org/", "expires_at": "2001-01-01T00:00:00Z"}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["expires_at"]


def test_malformed_json_is_a_problem_not_a_500(client: TestClient) -> None:
    response = client.post(
        "/api/links", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_impossible_code_is_404_without_a_backend(client: TestClient) -> None:
    response = client.get("/not.a.code")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/link-not-found")


def test_unknown_route_method_is_a_problem(client: TestClient) -> None:
    response = client.delete("/health/live")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
