"""Headless Chromium for the web page's tests: Debian's `chromium` package, driven by
Playwright (never a downloaded browser), plus a recorder of Content-Security-Policy
violations.

The page is reached on the stack's 127.0.0.1 port. Short URLs carry the stack's
PUBLIC_BASE_URL host (sho.rt), which no DNS knows, and the links point at a stub target
site (target.test) served by the test on another 127.0.0.1 port: the browser resolves
both names to those ports itself (--host-resolver-rules), so following a short link
works end to end, redirect included, without leaving the machine.
"""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
PUBLIC_HOST = "sho.rt"  # the e2e stack's PUBLIC_BASE_URL (tests/e2e/stack.py)
TARGET_HOST = "target.test"
TARGET_SITE = f"http://{TARGET_HOST}"
TARGET_TITLE = "target reached"

# Runs before the page's own scripts: every CSP (and Trusted Types) violation the
# document reports is kept for the test to read.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI}`);
});
"""


class _TargetPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"<title>{TARGET_TITLE}</title>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def target_site() -> Iterator[str]:
    """The stub site short links lead to, on an ephemeral 127.0.0.1 port: its address."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TargetPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def launch_chromium(playwright: Playwright, base_url: str, target_address: str) -> Browser:
    """Debian's Chromium, headless; sho.rt is the stack, target.test the stub site."""
    assert CHROMIUM.is_file(), (
        f"{CHROMIUM} is missing: install Debian's chromium (scripts/chromium.sh), "
        "or point CHROMIUM at a Chromium binary. Never `playwright install`."
    )
    stack_address = urlsplit(base_url).netloc  # 127.0.0.1:PORT
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[
            f"--host-resolver-rules=MAP {PUBLIC_HOST} {stack_address},"
            f" MAP {TARGET_HOST} {target_address}"
        ],
    )


@dataclass
class PageSession:
    """One browser context on the stack, and what its pages reported."""

    context: BrowserContext
    base_url: str
    console_errors: list[str] = field(default_factory=list)

    def new_page(self) -> Page:
        page = self.context.new_page()
        page.on("console", self._on_console)
        return page

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def csp_violations(self, page: Page) -> list[str]:
        reported = page.evaluate("window.__cspViolations ?? []")
        logged = [
            text
            for text in self.console_errors
            if "Content Security Policy" in text or "Trusted Type" in text
        ]
        return [*reported, *logged]


def open_session(browser: Browser, base_url: str, **options: object) -> Iterator[PageSession]:
    context = browser.new_context(
        base_url=base_url,
        # The page's Copy button writes to the clipboard; the test reads it back.
        permissions=["clipboard-read", "clipboard-write"],
        **options,  # type: ignore[arg-type]
    )
    context.add_init_script(RECORD_VIOLATIONS)
    try:
        yield PageSession(context, base_url)
    finally:
        context.close()
