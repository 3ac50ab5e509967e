"""The web page nginx serves at /, driven in headless Chromium against the whole stack.

Each scenario ends by asserting that the page reported no Content-Security-Policy
violation. WEB_SCREENSHOTS=DIR (`make screenshots`) saves the screenshots docs/ shows.
"""

import io
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import (
    TARGET_SITE,
    TARGET_TITLE,
    PageSession,
    open_session,
)
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1000, "height": 900}
SCREENSHOTS = os.environ.get("WEB_SCREENSHOTS")


def screenshot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(SCREENSHOTS) / f"{name}.png", full_page=True)


@pytest.fixture
def session(browser: Browser, stack: Stack) -> Iterator[PageSession]:
    yield from open_session(browser, stack.base_url, viewport=DESKTOP)


@pytest.fixture
def phone(browser: Browser, stack: Stack) -> Iterator[PageSession]:
    yield from open_session(browser, stack.base_url, viewport=PHONE, is_mobile=True)


def signed_in(session: PageSession, api_key: str) -> Page:
    """The page with the key pasted and accepted, keyboard only: type, Enter."""
    page = session.new_page()
    page.goto("/")
    page.get_by_label("Your API key").focus()
    page.keyboard.type(api_key)
    page.keyboard.press("Enter")
    expect(page.locator("#key-status")).to_be_visible()
    return page


def assert_no_csp_violations(session: PageSession, page: Page) -> None:
    assert session.csp_violations(page) == []


def test_shorten_copy_follow_and_see_the_visit(session: PageSession, api_key: str) -> None:
    page = signed_in(session, api_key)
    target = f"{TARGET_SITE}/web-{secrets.token_hex(4)}"
    # Keyboard only: signing in put the focus on the URL field.
    expect(page.get_by_label("Long URL")).to_be_focused()
    page.keyboard.type(target)
    page.keyboard.press("Enter")
    short_link = page.locator("#result-link")
    expect(short_link).to_have_text(re.compile(r"^http://sho\.rt/[A-Za-z0-9]{7}$"))
    short_url = short_link.inner_text()
    code = short_url.rsplit("/", 1)[1]

    expect(page.locator("#result-heading")).to_be_focused()
    page.keyboard.press("Tab")  # the short link
    page.keyboard.press("Tab")  # Copy
    expect(page.get_by_role("button", name="Copy")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#copy-status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == short_url

    # The QR code on screen is the short URL, as a phone camera would read it.
    qr = page.locator("#result-qr")
    # Polled from here: Playwright's wait_for_function would eval() in the page, which
    # the page's policy rightly refuses.
    deadline = time.monotonic() + 10
    while qr.evaluate("image => image.naturalWidth") == 0:
        assert time.monotonic() < deadline, "the QR code was never shown"
        time.sleep(0.1)
    on_screen = Image.open(io.BytesIO(qr.screenshot()))
    assert [found.text for found in zxingcpp.read_barcodes(on_screen)] == [short_url]
    screenshot(page, "web-shorten")

    # Follow it in another tab, from a page on another site.
    visitor = session.new_page()
    visitor.goto(short_url, referer="https://news.example/post")
    assert visitor.url == target
    assert visitor.title() == TARGET_TITLE

    # The new link heads the list; its stats show the visit once the worker ingested it.
    page.get_by_role("button", name=f"Details of {code}").click()
    expect(page.locator("#details-heading")).to_be_focused()
    summary = page.locator("#stats-summary")
    deadline = time.monotonic() + 60
    while not summary.inner_text().startswith("1 click in all"):
        assert time.monotonic() < deadline, f"stats still say {summary.inner_text()!r}"
        time.sleep(1)
        page.get_by_role("button", name="Refresh the stats").click()
    expect(page.locator("#stats-referrers")).to_contain_text("news.example: 1 click")
    # One visitor; no country database in the stack, so the click's country is unknown.
    expect(summary).to_contain_text("1 visitor (counted per day)")
    expect(page.locator("#stats-countries")).to_contain_text("unknown: 1 click")
    bars = page.locator("#stats-chart rect")
    heights = [float(bars.nth(n).get_attribute("height") or 0) for n in range(bars.count())]
    assert len(heights) == 60  # 30 days, a human and a bot bar each
    assert sum(heights) == pytest.approx(100)  # one day at the peak, every other empty
    screenshot(page, "web-stats")
    assert_no_csp_violations(session, page)


def test_invalid_fields_are_shown_beside_them_on_a_phone(phone: PageSession, api_key: str) -> None:
    page = signed_in(phone, api_key)
    page.get_by_label("Long URL").fill("ftp://example.org/file")
    page.get_by_role("button", name="Shorten").click()

    url_error = page.locator("#shorten-url-error")
    expect(url_error).to_have_text("Invalid request: must be an http or https URL")
    expect(page.get_by_label("Long URL")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Long URL")).to_be_focused()
    expect(page.locator("#shorten-form .form-error")).to_contain_text("invalid fields: url")
    # Readable at phone width: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "web-phone-error")

    # A field inside the closed options opens them to show its error.
    page.get_by_label("Long URL").fill(f"{TARGET_SITE}/ok")
    page.get_by_text("Options: alias, tags, expiry, visit limit").click()
    page.get_by_label("Alias (optional)").fill("api")
    page.get_by_role("button", name="Shorten").click()
    expect(page.locator("#shorten-alias-error")).to_contain_text("reserved")
    expect(url_error).to_be_hidden()
    assert_no_csp_violations(phone, page)


def test_a_wrong_key_shows_the_auth_error(session: PageSession) -> None:
    page = session.new_page()
    page.goto("/")
    page.get_by_label("Your API key").fill("shk_not-a-key-of-this-service")
    page.get_by_role("button", name="Use this key").click()

    expect(page.locator("#key-input-error")).to_have_text(
        "Unauthorized: The API key is unknown or revoked."
    )
    expect(page.locator("#signed-in")).to_be_hidden()
    # Never kept, and never in a URL.
    assert page.evaluate("sessionStorage.length") == 0
    assert "shk_" not in page.url
    assert_no_csp_violations(session, page)


def test_edit_then_delete_after_asking(
    session: PageSession, api_key: str, client: httpx.Client
) -> None:
    kept = client.post("/api/links", json={"url": f"{TARGET_SITE}/to-keep"}).json()["code"]
    code = client.post("/api/links", json={"url": f"{TARGET_SITE}/to-edit"}).json()["code"]
    page = signed_in(session, api_key)
    page.get_by_role("button", name=f"Details of {code}").press("Enter")

    # Edit: a past expiry is refused beside its field; a new target is saved (PATCH).
    page.get_by_label("Expires (your local time; empty: never)").fill("2020-01-01T00:00")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-expires-error")).to_have_text(
        "Invalid request: must be in the future"
    )
    page.get_by_label("Expires (your local time; empty: never)").fill("")
    page.get_by_label("Target URL").fill(f"{TARGET_SITE}/edited")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-status")).to_have_text("Saved.")
    expect(page.locator("#details-target")).to_have_text(f"{TARGET_SITE}/edited")
    assert client.get(f"/api/links/{code}").json()["url"] == f"{TARGET_SITE}/edited"
    # The history, newest first: the change (old -> new) above the create, by this key.
    history = page.locator("#history li")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text(
        f"changed by key {api_key[4:12]}url: {TARGET_SITE}/to-edit → {TARGET_SITE}/edited"
    )
    expect(history.nth(1)).to_contain_text(f"created by key {api_key[4:12]}")
    delete = page.get_by_role("button", name="Delete this link…")
    dialog = page.get_by_role("dialog")

    # Escape cancels: the link stays.
    delete.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(page.get_by_role("button", name="Keep it")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert client.get(f"/api/links/{code}").status_code == 200

    delete.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Delete", exact=True)).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator("#links-status")).to_have_text(f"Deleted {code}.")
    expect(page.get_by_role("button", name=f"Details of {code}")).to_have_count(0)
    expect(page.locator("#details")).to_be_hidden()
    assert client.get(f"/api/links/{code}").status_code == 404

    # Escape after an earlier "Delete" still keeps the link (the dialog is reused).
    page.get_by_role("button", name=f"Details of {kept}").press("Enter")
    delete.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(delete).to_be_focused()
    page.wait_for_timeout(1000)  # time for a wrongful DELETE to land, were one sent
    assert client.get(f"/api/links/{kept}").status_code == 200
    assert_no_csp_violations(session, page)


def test_protect_a_link_with_a_password_then_remove_it(
    session: PageSession, api_key: str, client: httpx.Client
) -> None:
    page = signed_in(session, api_key)
    page.get_by_label("Long URL").fill(f"{TARGET_SITE}/guarded")
    page.get_by_text("Options: alias, tags, expiry, visit limit, password").click()
    page.get_by_label("Password (optional)").fill("abc")  # too short: named beside it
    page.get_by_role("button", name="Shorten").click()
    expect(page.locator("#shorten-password-error")).to_contain_text("at least 4")
    page.get_by_label("Password (optional)").fill("page secret")
    page.locator("#shorten-form").get_by_label("Let search engines index this link").check()
    page.get_by_role("button", name="Shorten").click()
    expect(page.locator("#result-link")).to_have_text(re.compile(r"^http://sho\.rt/\w+$"))
    code = page.locator("#result-link").inner_text().rsplit("/", 1)[1]
    link = client.get(f"/api/links/{code}").json()
    assert (link["protected"], link["allow_indexing"]) == (True, True)
    assert client.get(f"/{code}").status_code == 401

    page.get_by_role("button", name=f"Details of {code}").click()
    expect(page.locator("#details-limits")).to_contain_text("protected by a password")
    page.get_by_label("Remove the password").check()
    page.locator("#edit-form").get_by_label("Let search engines index this link").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-status")).to_have_text("Saved.")
    expect(page.locator("#details-limits")).not_to_contain_text("protected")
    expect(page.get_by_label("Remove the password")).to_be_hidden()
    link = client.get(f"/api/links/{code}").json()
    assert (link["protected"], link["allow_indexing"]) == (False, False)
    assert client.get(f"/{code}").status_code == 302


def test_a_read_only_key_sees_no_create_edit_or_delete(
    session: PageSession, client: httpx.Client
) -> None:
    code = client.post("/api/links", json={"url": f"{TARGET_SITE}/read-only"}).json()["code"]
    made = client.post("/api/keys", json={"name": "viewer", "scopes": ["links:read", "stats:read"]})
    assert made.status_code == 201, made.text
    page = signed_in(session, made.json()["key"])

    expect(page.locator("#key-read-only")).to_be_visible()
    expect(page.locator("#key-read-only")).to_contain_text("read-only")
    expect(page.locator("#links-heading")).to_be_focused()
    # The owner's links, readable; nothing that would change one is on offer.
    expect(page.locator("#shorten-section")).to_be_hidden()
    expect(page.locator("#import-form")).to_be_hidden()  # an export, yes; an import, no
    expect(page.get_by_role("button", name="Download CSV")).to_be_visible()
    page.get_by_role("button", name=f"Details of {code}").press("Enter")
    expect(page.locator("#details-target")).to_have_text(f"{TARGET_SITE}/read-only")
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete this link…")).to_have_count(0)

    # A key that may write, in the same tab, gets them back.
    page.get_by_role("button", name="Forget the key").click()
    page.get_by_label("Your API key").fill(client.headers["authorization"].split()[1])
    page.get_by_role("button", name="Use this key").click()
    expect(page.locator("#shorten-section")).to_be_visible()
    expect(page.locator("#key-read-only")).to_be_hidden()


def test_export_downloads_and_an_import_shows_its_progress_and_bad_rows(
    session: PageSession, api_key: str, client: httpx.Client, tmp_path: Path
) -> None:
    marker = secrets.token_hex(4)
    made = client.post("/api/links", json={"url": f"{TARGET_SITE}/export-{marker}"})
    assert made.status_code == 201, made.text
    page = signed_in(session, api_key)

    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download CSV").click()
    saved = tmp_path / "links.csv"
    downloading.value.save_as(saved)
    assert downloading.value.suggested_filename == "links.csv"
    exported = saved.read_text()
    assert exported.startswith("url,alias,expires_at,max_visits,tags,created_at,code,visits\n")
    assert f"{TARGET_SITE}/export-{marker}" in exported

    rows = f"url,tags\n{TARGET_SITE}/imported-{marker},web\nnot a url,\n"
    page.get_by_label("A CSV or JSON Lines file of links").set_input_files(
        files=[{"name": "mine.csv", "mimeType": "text/csv", "buffer": rows.encode()}]
    )
    page.get_by_label("Only check the file (dry run)").check()
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-status")).to_contain_text("Dry run: 2 rows, 1 valid, 1 refused")
    expect(page.locator("#import-errors")).to_contain_text("Row 2: url")

    page.get_by_label("Only check the file (dry run)").uncheck()
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-status")).to_contain_text("Import done: 1 of 1 rows done")
    expect(page.locator("#import-status")).to_contain_text("1 links made")
    expect(page.locator("#import-progress")).to_have_attribute("value", "1")
    expect(page.locator("#import-errors")).to_contain_text("Row 2: url")
    screenshot(page, "web-import")
    listed = client.get("/api/links", params={"q": f"imported-{marker}"}).json()["items"]
    assert [link["tags"] for link in listed] == [["web"]]
    assert_no_csp_violations(session, page)


def test_tags_on_create_filter_the_list_and_are_edited(
    session: PageSession, api_key: str, client: httpx.Client
) -> None:
    other = client.post("/api/links", json={"url": f"{TARGET_SITE}/untagged"}).json()["code"]
    page = signed_in(session, api_key)

    # Create with tags (normalised by the API): the list shows them as buttons.
    page.get_by_text("Options: alias, tags, expiry, visit limit").click()
    page.get_by_label("Long URL").fill(f"{TARGET_SITE}/tagged")
    page.get_by_label("Tags (optional, separated by commas)").fill("Spring Sale, promo")
    page.get_by_role("button", name="Shorten").click()
    expect(page.locator("#result")).to_be_visible()
    code = page.locator("#result-link").inner_text().rsplit("/", 1)[-1]
    assert client.get(f"/api/links/{code}").json()["tags"] == ["promo", "spring-sale"]
    expect(page.get_by_role("button", name="Show links tagged spring-sale")).to_be_visible()

    # Click a tag: only its links; "Show all links" brings the others back.
    page.get_by_role("button", name="Show links tagged promo").click()
    expect(page.locator("#links-filter-tag")).to_have_text("promo")
    expect(page.get_by_role("button", name=f"Details of {code}")).to_be_visible()
    expect(page.get_by_role("button", name=f"Details of {other}")).to_have_count(0)
    page.get_by_role("button", name="Show all links").click()
    expect(page.get_by_role("button", name=f"Details of {other}")).to_be_visible()

    # Type a tag: an invalid one is explained beside the field.
    page.get_by_label("Only links tagged").fill("no/slashes")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#links-tag-error")).to_contain_text("a tag is a-z")

    # Edit the tags on the link: saved (PATCH), shown, and in the history.
    page.get_by_label("Only links tagged").fill("")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("button", name=f"Details of {code}").press("Enter")
    tags = page.get_by_label("Tags (separated by commas; empty: none)")
    expect(tags).to_have_value("promo, spring-sale")
    tags.fill("summer")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-status")).to_have_text("Saved.")
    assert client.get(f"/api/links/{code}").json()["tags"] == ["summer"]
    expect(page.locator("#history li").nth(0)).to_contain_text("tags: promo, spring-sale → summer")
    tags.fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-status")).to_have_text("Saved.")
    assert client.get(f"/api/links/{code}").json()["tags"] == []
    assert_no_csp_violations(session, page)


def test_the_policy_is_strict_and_violations_are_seen(session: PageSession, stack: Stack) -> None:
    """The detector above is not blind: what the policy forbids is refused and reported."""
    page = session.new_page()
    response = page.goto("/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert_no_csp_violations(session, page)

    refused_markup = page.evaluate(
        """() => { try { document.body.innerHTML = "<b>x</b>"; return false; }
                   catch (error) { return error instanceof TypeError; } }"""
    )
    page.evaluate(
        """() => new Promise((done) => { const image = new Image();
             image.onerror = done; image.src = "https://cdn.example/pixel.png";
             document.body.append(image); })"""
    )
    assert refused_markup, "Trusted Types let a string become markup"
    violations = session.csp_violations(page)
    assert any(v.startswith("require-trusted-types-for") for v in violations), violations
    assert any(v.startswith("img-src blocked https://cdn.example") for v in violations), violations


def test_page_and_assets_are_cached_sensibly(stack: Stack) -> None:
    with stack.client() as client:
        page = client.get("/")
        assets = re.findall(r'"(/static/[0-9a-f]{12}/[\w.-]+)"', page.text)
        # Modules that main.js imports sit next to it.
        assets.append(assets[0].rsplit("/", 1)[0] + "/api.js")
        revalidated = client.get("/", headers={"If-None-Match": page.headers["etag"]})
        answers = [client.get(path) for path in assets]
    # index.html: always revalidated, cheaply (304 by ETag).
    assert page.headers["cache-control"] == "no-cache"
    assert revalidated.status_code == 304
    # Every asset it names: fingerprinted, kept a year, served by nginx itself.
    assert {path.rsplit("/", 1)[1] for path in assets} >= {"main.js", "app.css", "icon.svg"}
    for asset in answers:
        assert asset.status_code == 200, asset.url
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert asset.headers["x-content-type-options"] == "nosniff"
