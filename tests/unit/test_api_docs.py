"""/api/docs: Swagger UI from our own origin, under a policy that allows nothing else.

Answered without a backend (no lifespan): the page and its files come from the image.
"""

from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from shortener.apidocs.routes import ASSETS
from shortener.app import create_app
from shortener.settings import Settings

POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
JAVASCRIPT = {"text/javascript", "application/javascript"}


@pytest.fixture
def anonymous(settings: Settings) -> Iterator[TestClient]:
    yield TestClient(create_app(settings), raise_server_exceptions=True)


class References(HTMLParser):
    """Every URL the page makes the browser load, and every inline script or style."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.other_urls: list[str] = []
        self.inline: list[str] = []
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self._tag = tag
        if "style" in found:
            self.inline.append(f"style attribute on <{tag}>")
        if any(name.startswith("on") for name in found):
            self.inline.append(f"event handler on <{tag}>")
        if tag == "script":
            assert found.get("src"), "an inline <script>"
            self.scripts.append(found["src"] or "")
        elif tag == "link" and found.get("rel") == "stylesheet":
            self.stylesheets.append(found["href"] or "")
        else:
            for name in ("src", "href", "action", "data", "poster"):
                if found.get(name):
                    self.other_urls.append(found[name] or "")

    def handle_data(self, data: str) -> None:
        if self._tag in ("script", "style") and data.strip():
            self.inline.append(f"inline <{self._tag}>")


def references(html: str) -> References:
    parser = References()
    parser.feed(html)
    return parser


def test_the_page_loads_only_files_of_this_origin_under_a_strict_policy(
    anonymous: TestClient,
) -> None:
    response = anonymous.get("/api/docs")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == POLICY
    assert "http:" not in response.text and "https:" not in response.text
    assert "//" not in response.text  # no scheme-relative URL either
    page = references(response.text)
    assert page.inline == []
    assert page.other_urls == []
    assert page.scripts == ["/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-init.js"]
    assert page.stylesheets == ["/api/docs/swagger-ui.css"]
    # The start script finds the schema's URL here.
    assert 'data-openapi-url="/api/openapi.json"' in response.text


@pytest.mark.parametrize("name", ASSETS)
def test_every_file_the_page_names_is_served_here(anonymous: TestClient, name: str) -> None:
    response = anonymous.get(f"/api/docs/{name}")
    assert response.status_code == 200, name
    media_type = response.headers["content-type"].split(";")[0]
    if name.endswith(".js"):
        assert media_type in JAVASCRIPT
        assert "SwaggerUIBundle" in response.text
    else:
        assert media_type == "text/css"
        assert ".swagger-ui" in response.text
    assert int(response.headers["content-length"]) == len(response.content) > 0
    # Revalidated on every load, cheaply: an upgrade shows at once.
    assert response.headers["cache-control"] == "no-cache"
    again = anonymous.get(f"/api/docs/{name}", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    head = anonymous.head(f"/api/docs/{name}")
    assert (head.status_code, head.headers["etag"]) == (200, response.headers["etag"])


def test_head_answers_like_get(anonymous: TestClient) -> None:
    response = anonymous.head("/api/docs")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == POLICY


def test_the_start_script_asks_no_other_origin(anonymous: TestClient) -> None:
    script = anonymous.get("/api/docs/swagger-init.js").text
    assert "http:" not in script and "https:" not in script
    # Without this, Swagger UI would send the schema to validator.swagger.io for a badge.
    assert "validatorUrl: null" in script


@pytest.mark.parametrize(
    "path",
    [
        "/api/docs/redoc.standalone.js",  # in the package, never named by the page
        "/api/docs/favicon.png",
        "/api/docs/__init__.py",
        "/api/docs/..%2froutes.py",
        "/api/docs/nothing.js",
    ],
)
def test_nothing_else_is_served_under_the_page(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_no_other_documentation_page_is_served(anonymous: TestClient) -> None:
    # FastAPI's own ReDoc page, and its OAuth2 redirect helper (an inline script) that came
    # with its Swagger UI page. (/docs and /redoc are one segment: short codes, not found.)
    for path in ("/api/redoc", "/docs/oauth2-redirect", "/api/docs/oauth2-redirect"):
        assert anonymous.get(path).status_code == 404, path
    paths = anonymous.get("/api/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/api/docs")]
