"""nginx/includes/: the tables nginx answers from on its own.

- methods.conf names the methods of every path, for the Allow header of a 405 nginx makes
  itself (TRACE reaches no location, so nginx answers for the api's paths too): each row
  must say what the api says. The api is asked directly here (a TRACE, as nginx would
  refuse it); tests/e2e/test_proxy_limits.py asks through nginx.
- problems.conf writes every error page from one row per status: one row per status
  that error_page sends there, each a valid problem document.
"""

import json
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shortener.apidocs.routes import ASSETS, PAGE
from shortener.app import create_app
from shortener.settings import Settings
from tests.e2e.stack import REPO

INCLUDES = REPO / "nginx" / "includes"
# Served by nginx itself (nginx.conf's locations): the api never sees these paths.
NGINX_OWN = {"/": "GET, HEAD", "/static/app.css": "GET, HEAD", "/nginx-health": "GET, HEAD"}
HIDDEN = "/metrics"  # nginx answers 404 to any method


def map_rows(text: str, header: str) -> list[tuple[str, str]]:
    """The (key, value) rows of the `map` block that starts with `header`, in order."""
    body = text.split(header + " {", 1)[1].split("\n}", 1)[0]
    rows = []
    for line in body.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or line == "volatile;":
            continue
        key, value = line.rstrip(";").split(None, 1)
        rows.append((unquote(key), unquote(value.strip())))
    return rows


def unquote(token: str) -> str:
    return token[1:-1] if len(token) > 1 and token[0] == token[-1] in "'\"" else token


def methods_for(request_uri: str) -> str:
    """What nginx's $target_methods is for this request target: the first matching row."""
    rows = map_rows((INCLUDES / "methods.conf").read_text(), "map $request_uri $target_methods")
    for key, value in rows:
        if key != "default" and re.search(key.removeprefix("~"), request_uri):
            return value
    return dict(rows)["default"]


def as_set(allow: str | None) -> set[str]:
    return {method.strip() for method in (allow or "").split(",") if method.strip()}


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    # No lifespan: routing answers a 405 or 404 before any backend is needed.
    yield TestClient(app, raise_server_exceptions=True)


def api_paths(app: FastAPI) -> list[str]:
    """Every path the api publishes through nginx, a sample code in place of {code}."""
    docs = [PAGE, *(f"{PAGE}/{name}" for name in ASSETS)]  # not in the schema
    templates = [*app.openapi()["paths"], app.openapi_url, *docs]
    return sorted({re.sub(r"\{[^}]+\}", "abc123", path) for path in templates if path})


def test_nginx_names_the_methods_the_api_takes_on_every_path(
    app: FastAPI, api: TestClient, subtests: pytest.Subtests
) -> None:
    paths = api_paths(app)
    assert {"/{code}", "/health/ready", "/api/links"} <= set(app.openapi()["paths"])
    for path in [*paths, *(path + "?x=1" for path in paths)]:
        with subtests.test(path=path):
            answer = api.request("TRACE", path, follow_redirects=False)
            assert answer.status_code == 405, answer.text
            assert as_set(methods_for(path)) == as_set(answer.headers["allow"]), (
                f"nginx/includes/methods.conf: {path} takes {answer.headers['allow']}"
            )


def test_nginx_names_nothing_where_the_api_has_nothing(api: TestClient) -> None:
    for path in ("/api/nope", "/api/links/abc123/nope", "/health/nope", "/a/b"):
        assert api.request("TRACE", path).status_code == 404, path
        assert methods_for(path) == "", path  # nginx then answers 404 too


def test_nginx_names_its_own_methods() -> None:
    for path, methods in NGINX_OWN.items():
        assert methods_for(path) == methods == methods_for(path + "?v=2")
    assert methods_for(HIDDEN) == ""


def test_every_error_page_has_one_problem_document() -> None:
    text = (INCLUDES / "problems.conf").read_text()
    sent = {
        int(code)
        for line in re.findall(r"^error_page ([^;]+);", text, re.M)
        for code in line.split()
        if code.isdigit()
    }
    rows = dict(map_rows(text, "map $status $problem"))
    assert {int(status) for status in rows} == sent - {494}  # 494 is sent as 400
    for status, fields in rows.items():
        # As nginx.conf's /.problem/ location writes it.
        problem = json.loads("{" + fields + ',"request_id":"x"}')
        assert problem["status"] == int(status)
        assert problem["type"].startswith("https://shortener.example/problems/")
        assert problem["title"] and problem["detail"]
