"""/api/docs through nginx: Swagger UI from our own origin, in a real browser.

The api serves the page and its files (api/shortener/apidocs); nginx adds its security
headers and no policy of its own. In headless Chromium the page must render every operation
of the schema with no Content-Security-Policy violation and without a single request to
another origin: it works offline. tests/unit/test_api_docs.py checks the page's HTML.
"""

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Request, expect

from tests.e2e.browser import PageSession, open_session
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

PAGE = "/api/docs"
METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


def referenced_files(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_the_page_and_its_files_come_from_this_origin(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        page = client.get(PAGE)
        assert page.status_code == 200
        # One policy, the api's: nginx adds none of its own here.
        policies = page.headers.get_list("content-security-policy")
        assert len(policies) == 1
        assert "script-src 'self'" in policies[0]
        assert policies[0].startswith("default-src 'none'")
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        files = referenced_files(page.text)
        assert sorted(files) == [
            "/api/docs/swagger-init.js",
            "/api/docs/swagger-ui-bundle.js",
            "/api/docs/swagger-ui.css",
        ]
        for path in files:
            response = client.get(path, headers={"Accept-Encoding": "gzip"})
            assert response.status_code == 200, path
            media_type = response.headers["content-type"].split(";")[0]
            expected = "text/css" if path.endswith(".css") else "text/javascript"
            # nosniff: the browser runs a script only when its type says JavaScript.
            assert media_type in (expected, "application/javascript"), (path, media_type)
            if len(response.content) > 1024:  # nginx gzips text over 1 KB
                assert response.headers["content-encoding"] == "gzip", path


@pytest.fixture
def session(browser: Browser, stack: Stack) -> Iterator[PageSession]:
    yield from open_session(browser, stack.base_url, viewport={"width": 1200, "height": 900})


def test_swagger_ui_renders_every_operation_offline_within_its_policy(
    session: PageSession, stack: Stack
) -> None:
    schema = httpx.get(f"{stack.base_url}/api/openapi.json", timeout=10).json()
    operations = sum(len(METHODS & set(item)) for item in schema["paths"].values())
    requested: list[str] = []
    page = session.new_page()

    def note(request: Request) -> None:
        requested.append(request.url)

    page.on("request", note)
    page.goto(PAGE)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text(schema["info"]["title"])
    expect(page.locator(".opblock")).to_have_count(operations)

    # "Try it out" calls the API from the page: connect-src 'self' lets it (a 401: no key).
    listing = page.locator(".opblock-get", has=page.locator('[data-path="/api/links"]'))
    listing.locator(".opblock-summary").first.click()
    listing.get_by_role("button", name="Try it out").click()
    listing.get_by_role("button", name="Execute").click()
    status = listing.locator(".live-responses-table tbody .response-col_status").first
    expect(status).to_contain_text("401")

    origin = urlsplit(stack.base_url).netloc
    elsewhere = [url for url in requested if urlsplit(url).netloc != origin]
    assert elsewhere == []
    assert session.csp_violations(page) == []
