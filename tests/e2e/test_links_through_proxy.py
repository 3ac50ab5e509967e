"""The product slice, exercised only through nginx on 127.0.0.1."""

import re

import httpx
import pytest

from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


def shorten(client: httpx.Client, url: str, **extra: object) -> dict:
    response = client.post("/api/links", json={"url": url, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_then_redirect(client: httpx.Client, stack: Stack) -> None:
    link = shorten(client, "https://example.org/a?b=c")
    assert re.fullmatch(r"[A-Za-z0-9]{7}", link["code"])
    assert link["short_url"] == f"http://sho.rt/{link['code']}"
    stored = stack.sql("SELECT url FROM shortener.links WHERE code = :'code'", code=link["code"])
    assert stored == "https://example.org/a?b=c"

    response = client.get(f"/{link['code']}")
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.org/a?b=c"
    assert response.headers["cache-control"].startswith("private")

    head = client.head(f"/{link['code']}")
    assert head.status_code == 302
    assert head.headers["location"] == "https://example.org/a?b=c"


def test_unknown_code_is_a_404_problem(client: httpx.Client) -> None:
    response = client.get("/NoSuchCode")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_invalid_url_is_a_422_naming_the_field(client: httpx.Client) -> None:
    response = client.post("/api/links", json={"url": "javascript:alert(1)"})
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["url"]


def test_health_endpoints_answer_through_the_proxy(client: httpx.Client) -> None:
    assert client.get("/health/live").json() == {"status": "pass"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.headers["content-type"] == "application/health+json"
    checks = ready.json()["checks"]
    assert checks["database"]["status"] == "pass"
    assert checks["cache"]["status"] == "pass"
    # No country database in the stack by default: readiness says so, and still answers 200.
    assert checks["countries"] == {"status": "warn", "output": "no country database configured"}


def test_proxy_adds_request_id_and_hides_metrics(client: httpx.Client) -> None:
    response = client.get("/health/live")
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/metrics").status_code == 404


def test_static_page_is_served_by_nginx(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "URL shortener" in response.text
