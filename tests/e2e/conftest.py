"""The e2e tier: one stack for the session, built from the working tree."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.e2e.browser import launch_chromium, target_site
from tests.e2e.stack import Stack, make_secrets


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Built once for the session; other projects in the tests reuse these images.
    with Stack(make_secrets(tmp_path_factory.mktemp("secrets"))).running() as stack:
        yield stack


@pytest.fixture(scope="session")
def api_key(stack: Stack) -> str:
    return stack.create_api_key("e2e")


@pytest.fixture
def client(stack: Stack, api_key: str) -> Iterator[httpx.Client]:
    with stack.client(api_key) as client:
        yield client


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Browser]:
    """Chromium for the page tests (test_web_page.py, test_api_docs_page.py), one per module."""
    with target_site() as target_address, sync_playwright() as playwright:
        browser = launch_chromium(playwright, stack.base_url, target_address)
        yield browser
        browser.close()


@pytest.fixture
def fresh_secrets(tmp_path: Path) -> Path:
    return make_secrets(tmp_path / "secrets")
