"""Password-protected links and indexing through nginx: the unlock page nginx shows a
browser (in Chromium, from a protected link to its target), what an API client gets, and
robots.txt. The api's rules in depth: tests/integration/test_protected_links.py."""

import secrets
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import TARGET_SITE, TARGET_TITLE, PageSession, open_session
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

PASSWORD = "open sesame"
BROWSER_ACCEPT = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def session(browser: Browser, stack: Stack) -> Iterator[PageSession]:
    yield from open_session(browser, stack.base_url)


def protected_link(client: httpx.Client, target: str) -> str:
    created = client.post("/api/links", json={"url": target, "password": PASSWORD})
    assert created.status_code == 201, created.text
    return created.json()["code"]


def test_a_browser_gets_the_unlock_page_and_then_the_target(
    session: PageSession, client: httpx.Client
) -> None:
    target = f"{TARGET_SITE}/protected-{secrets.token_hex(4)}"
    code = protected_link(client, target)
    page = session.new_page()

    shown = page.goto(f"http://sho.rt/{code}")
    assert shown is not None and shown.status == 401
    expect(page.get_by_role("heading", name="This link is protected")).to_be_visible()
    assert target not in page.content()
    assert shown.headers["content-security-policy"].startswith("default-src 'none'")

    page.get_by_label("Password").fill("not it")
    page.get_by_role("button", name="Open the link").click()
    expect(page.get_by_role("alert")).to_have_text("That password is wrong. Try again.")
    assert page.url == f"http://sho.rt/{code}"  # still the short URL: nothing revealed
    assert target not in page.content()

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Open the link").click()
    expect(page).to_have_title(TARGET_TITLE)
    assert page.url == target
    assert session.csp_violations(page) == []


def test_through_nginx_an_api_client_gets_problems_and_nothing_of_the_target(
    client: httpx.Client,
) -> None:
    target = "https://example.org/behind-a-password"
    code = protected_link(client, target)

    for answer in (client.get(f"/{code}"), client.head(f"/{code}")):
        assert answer.status_code == 401
        assert "location" not in answer.headers
        assert target not in answer.text
    problem = client.get(f"/{code}")
    assert problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["type"].endswith("/password-required")
    # The page, for a browser: nginx's, not the api's, and no internal header leaks.
    page = client.get(f"/{code}", headers=BROWSER_ACCEPT)
    assert page.status_code == 401
    assert page.headers["content-type"].startswith("text/html")
    assert "<form" in page.text and target not in page.text
    assert "x-accel-redirect" not in page.headers
    # The internal locations answer nobody who names them.
    for internal in ("/.unlock?state=ask", "/.unlock-page"):
        refused = client.get(internal, headers=BROWSER_ACCEPT)
        assert refused.status_code == 404
        assert refused.headers["content-type"] == "application/problem+json"

    unlocked = client.get(f"/{code}", headers={"Link-Password": PASSWORD})
    assert unlocked.status_code == 302
    assert unlocked.headers["location"] == target
    assert unlocked.headers["x-robots-tag"] == "noindex"


def test_robots_txt_keeps_crawlers_off_the_api(client: httpx.Client) -> None:
    robots = client.get("/robots.txt")
    assert robots.status_code == 200
    assert robots.headers["content-type"].startswith("text/plain")
    assert "Disallow: /api/" in robots.text
