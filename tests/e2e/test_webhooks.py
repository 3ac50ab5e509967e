"""Webhooks end to end (docs/events.md): a receiver on the stack's egress network gets
signed POSTs that verify with the documented algorithm, a link's changes and its clicks
counted exactly; a receiver the SSRF guard refuses gets nothing. A stack of its own: the
receiver's network is the one private network the sender is allowed to reach
(WEBHOOK_ALLOWED_NETWORKS), which the tier's shared stack must not have."""

import base64
import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shortener_worker.webhooks.signing import verify
from tests.e2e.stack import BASE_FILE, Stack, make_secrets

pytestmark = pytest.mark.e2e

RECEIVER_NETWORK = "10.251.7.0/24"


class WebhookStack(Stack):
    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "WEBHOOK_ALLOWED_NETWORKS": RECEIVER_NETWORK}

    def received(self) -> list[dict]:
        address = self.compose("port", "receiver", "8080").strip().splitlines()[-1]
        return httpx.get(f"http://{address}/", timeout=10).json()


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookStack]:
    folder = tmp_path_factory.mktemp("webhooks")
    override = folder / "receiver.yml"
    receiver = Path(__file__).parents[1] / "receiver.py"
    override.write_text(
        json.dumps(
            {
                "services": {
                    "receiver": {
                        "image": "${PYTHON_IMAGE:-python:3.13-slim-trixie}",
                        "command": ["python", "/receiver.py"],
                        "volumes": [f"{receiver}:/receiver.py:ro"],
                        "networks": ["egress"],
                        "ports": ["127.0.0.1::8080"],
                    }
                },
                # A known subnet: the one the sender is told it may reach.
                "networks": {"egress": {"ipam": {"config": [{"subnet": RECEIVER_NETWORK}]}}},
            }
        )
    )
    stack = WebhookStack(
        make_secrets(folder / "secrets"),
        files=[BASE_FILE, override],
        name=f"shortener-hooks-{secrets.token_hex(3)}",
    )
    with stack.running():
        yield stack


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.5)
    return result


def test_signed_deliveries_of_changes_and_counted_clicks(hooked: WebhookStack) -> None:
    key = hooked.create_api_key("hooks")
    with hooked.client(key) as client:
        made = client.post(
            "/api/webhooks",
            json={
                "url": "http://receiver:8080/hook",
                "events": ["link.created", "link.updated", "link.clicked"],
            },
        )
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        code = client.post("/api/links", json={"url": "https://example.org/hooked"}).json()["code"]
        client.patch(f"/api/links/{code}", json={"url": "https://example.org/moved"})
        for _ in range(5):
            assert client.get(f"/{code}").status_code == 302

    def clicks_received() -> int:
        bodies = [json.loads(base64.b64decode(note["body"])) for note in hooked.received()]
        return sum(b["data"]["clicks"] for b in bodies if b["type"] == "link.clicked")

    wait_for(lambda: clicks_received() == 5, 60, "5 clicks delivered")
    notes = hooked.received()
    kinds = [json.loads(base64.b64decode(note["body"]))["type"] for note in notes]
    assert kinds.count("link.created") == 1 and kinds.count("link.updated") == 1
    for note in notes:
        body = base64.b64decode(note["body"])
        verify(secret, note["headers"], body, now=time.time())  # raises if it does not verify
        with pytest.raises(Exception, match="signature"):
            verify(
                "whsec_" + base64.b64encode(b"another secret....").decode(),
                note["headers"],
                body,
                now=time.time(),
            )
    assert len({note["headers"]["webhook-id"] for note in notes}) == len(notes)
    time.sleep(3)  # the ingestion's next runs: nothing is delivered twice
    assert clicks_received() == 5


def test_a_receiver_the_guard_refuses_at_send_gets_nothing(hooked: WebhookStack) -> None:
    key = hooked.create_api_key("refused")
    with hooked.client(key) as client:
        # A name the api cannot judge (it does not resolve names: it has no route out);
        # the sender resolves it to the database's private address and refuses.
        made = client.post(
            "/api/webhooks", json={"url": "http://database:5432/", "events": ["link.created"]}
        )
        assert made.status_code == 201, made.text
        hook = made.json()["id"]
        client.post("/api/links", json={"url": "https://example.org/refused"})

        def failed_once() -> dict | None:
            (delivery,) = client.get(f"/api/webhooks/{hook}/deliveries").json()["items"]
            return delivery if delivery["attempts"] >= 1 and delivery["last_error"] else None

        delivery = wait_for(failed_once, 30, "the first attempt recorded")
    assert delivery["status"] == "pending" and delivery["last_status"] is None
    assert "not allowed" in delivery["last_error"] or "private" in delivery["last_error"]


def test_a_receiver_that_hangs_slows_neither_redirects_nor_ingestion(hooked: WebhookStack) -> None:
    key = hooked.create_api_key("hanging")
    with hooked.client(key) as client:
        hook = client.post(
            "/api/webhooks",
            json={"url": "http://receiver:8080/hang", "events": ["link.created", "link.clicked"]},
        ).json()["id"]
        code = client.post("/api/links", json={"url": "https://example.org/hang"}).json()["code"]
        started = time.monotonic()
        for _ in range(20):
            assert client.get(f"/{code}").status_code == 302
        redirects = time.monotonic() - started
        # Counted by the worker within seconds, while the sender waits on the receiver.
        wait_for(lambda: client.get(f"/api/links/{code}").json()["visits"] == 20, 20, "ingested")

        def timed_out() -> dict | None:
            items = client.get(f"/api/webhooks/{hook}/deliveries").json()["items"]
            failed = [d for d in items if d["attempts"] and d["last_error"]]
            return failed[0] if failed else None

        delivery = wait_for(timed_out, 30, "an attempt given up")
    assert redirects < 5, f"20 redirects took {redirects:.1f} s"
    assert "time" in delivery["last_error"].lower(), delivery
