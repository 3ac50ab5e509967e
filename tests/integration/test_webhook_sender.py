"""The webhook sender (worker/shortener_worker/webhooks/sender.py) against a real Postgres
and a real receiver on 127.0.0.1 (allowed by WEBHOOK_ALLOWED_NETWORKS, as an operator may):
signed deliveries that verify, a receiver down retried after the backoff on the sender's
clock, delivered once when it is back, a webhook disabled after failures in a row."""

import base64
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest

from shortener_worker.webhooks.sender import Sender
from shortener_worker.webhooks.settings import load_webhook_settings
from shortener_worker.webhooks.signing import verify
from tests.integration.containers import APP, DATABASE, Postgres
from tests.integration.test_webhook_outbox import key, link

pytestmark = pytest.mark.integration

SECRET = "whsec_" + base64.b64encode(b"a test secret of 24 bytes").decode()


class Receiver:
    """An HTTP server answering each POST with the status `answer` says, keeping them."""

    def __init__(self) -> None:
        self.answer = 204
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(receiver.answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    serving = Receiver()
    yield serving
    serving.server.shutdown()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def sender(postgres: Postgres, clock: Clock, **settings: object) -> Sender:
    fields: dict[str, object] = {
        "database_host": postgres.host,
        "database_port": postgres.port,
        "database_name": DATABASE,
        "database_user": APP,
        "database_password_file": postgres.password_file(APP),
        "webhook_allowed_networks": "127.0.0.0/8",
        "webhook_timeout_seconds": 2,
    }
    loaded = load_webhook_settings(**(fields | settings))
    # Jitter 1: the whole backoff, so the test knows when the next attempt is due.
    return Sender(loaded, lambda: postgres.connect(APP), clock=clock, jitter=lambda: 1.0)


def subscribe(conn: psycopg.Connection, owner: int, url: str) -> int:
    return conn.execute(
        "INSERT INTO webhooks (owner_id, url, events, secret)"
        " VALUES (%s, %s, ARRAY['link.created'], %s) RETURNING id",
        (owner, url, SECRET),
    ).fetchone()[0]


def due(conn: psycopg.Connection, receiver: Receiver, clock: Clock, *codes: str) -> int:
    """A webhook to `receiver` and a link made for each code: a delivery each, due on the
    test's clock (they were written by now()). The webhook's id."""
    owner = key(conn)
    hook = subscribe(conn, owner, receiver.url)
    for code in codes:
        link(conn, owner, code)
    conn.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = %s",
        (datetime.fromtimestamp(clock.now, UTC),),
    )
    return hook


def test_a_delivery_arrives_signed_and_verifies(
    postgres: Postgres, app_db: psycopg.Connection, receiver: Receiver
) -> None:
    clock = Clock()
    due(app_db, receiver, clock, "signed")

    assert sender(postgres, clock).run_once() == 1
    ((headers, body),) = receiver.received
    verify(SECRET, headers, body, now=clock.now)
    assert headers["webhook-id"].startswith("msg_link_")
    status = app_db.execute("SELECT status, last_status FROM webhook_deliveries").fetchone()
    assert status == ("delivered", 204)
    assert sender(postgres, clock).run_once() == 0  # nothing twice


def test_a_receiver_down_is_retried_after_the_backoff_then_delivered_once(
    postgres: Postgres, app_db: psycopg.Connection, receiver: Receiver
) -> None:
    clock = Clock()
    due(app_db, receiver, clock, "retry")
    send = sender(postgres, clock, webhook_backoff_base_seconds=10)

    receiver.answer = 503
    assert send.run_once() == 1  # attempt 1 fails: due again in 10 s
    clock.now += 9
    assert send.run_once() == 0  # not before the backoff
    clock.now += 1
    assert send.run_once() == 1  # attempt 2 fails: due again in 20 s
    clock.now += 19
    assert send.run_once() == 0
    receiver.answer = 200
    clock.now += 1
    assert send.run_once() == 1  # attempt 3: delivered
    clock.now += 3600
    assert send.run_once() == 0
    assert [len(body) > 0 for _, body in receiver.received] == [True, True, True]
    ids = {headers["webhook-id"] for headers, _ in receiver.received}
    assert len(ids) == 1  # the same message each time: the receiver can drop repeats
    row = app_db.execute("SELECT status, attempts FROM webhook_deliveries").fetchone()
    assert row == ("delivered", 3)


def test_failures_in_a_row_disable_the_webhook_and_say_why(
    postgres: Postgres, app_db: psycopg.Connection, receiver: Receiver
) -> None:
    clock = Clock()
    hook = due(app_db, receiver, clock, "d0", "d1", "d2")
    receiver.answer = 500
    assert sender(postgres, clock, webhook_disable_after=3).run_once() == 3
    disabled = app_db.execute(
        "SELECT disabled_at IS NOT NULL, disabled_reason FROM webhooks WHERE id = %s", (hook,)
    ).fetchone()
    assert disabled[0] is True
    assert disabled[1].startswith("3 deliveries in a row failed; the last: ")
    clock.now += 7200
    assert sender(postgres, clock).run_once() == 0  # a disabled webhook gets nothing


def test_a_receiver_the_guard_refuses_is_never_contacted(
    postgres: Postgres, app_db: psycopg.Connection, receiver: Receiver
) -> None:
    clock = Clock()
    due(app_db, receiver, clock, "guarded")
    strict = sender(postgres, clock, webhook_allowed_networks="")  # loopback refused
    assert strict.run_once() == 1
    assert receiver.received == []
    error = app_db.execute("SELECT last_error FROM webhook_deliveries").fetchone()[0]
    assert "loopback" in error


def test_two_senders_at_once_send_each_delivery_once(
    postgres: Postgres, app_db: psycopg.Connection, receiver: Receiver
) -> None:
    clock = Clock()
    due(app_db, receiver, clock, *(f"t{number}" for number in range(30)))
    senders = [sender(postgres, clock, webhook_concurrency=2) for _ in range(2)]
    sent = [0, 0]

    def work(index: int) -> None:
        while attempted := senders[index].run_once():
            sent[index] += attempted

    threads = [threading.Thread(target=work, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert len(ids) == 30 and len(set(ids)) == 30  # every one, none twice
    assert all(sent)  # both took part
