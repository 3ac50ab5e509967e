"""The webhook outbox (migration 0005; worker/shortener_worker/webhooks/outbox.py), against
a real Postgres: deliveries are written in the transaction of what they report (a link's
change, by the trigger on its history; a batch of clicks, by the ingestion statement),
claimed by one sender only, and retried with backoff until the webhook is disabled."""

import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from rq import Queue

from shortener_worker.clicks import store
from shortener_worker.clicks.events import Click
from shortener_worker.jobs import JOBS
from shortener_worker.webhooks import outbox
from tests.integration.containers import APP, Postgres
from tests.integration.rq_jobs import work_off

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def key(conn: psycopg.Connection, name: str = "k") -> int:
    return conn.execute(
        "INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES (%s, %s, %s, %s)"
        " RETURNING id",
        (name, name.ljust(8, "x")[:8], b"\x00" * 32, ["webhooks"]),
    ).fetchone()[0]


def webhook(
    conn: psycopg.Connection, owner: int, events: list[str], codes: list[str] | None = None
) -> int:
    return conn.execute(
        "INSERT INTO webhooks (owner_id, url, events, codes, secret)"
        " VALUES (%s, 'https://hooks.example.org/x', %s, %s, 'whsec_c2VjcmV0') RETURNING id",
        (owner, events, codes),
    ).fetchone()[0]


def link(conn: psycopg.Connection, owner: int, code: str) -> int:
    """A link and its created event, as the api writes them (one transaction)."""
    with conn.transaction():
        link_id = conn.execute(
            "INSERT INTO links (code, url, owner_id) VALUES (%s, %s, %s) RETURNING id",
            (code, f"https://example.org/{code}", owner),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO link_events (link_id, code, owner_id, kind, actor_key_id, changes)"
            " SELECT id, code, owner_id, 'link.created', owner_id,"
            " link_changes(NULL, to_jsonb(links)) FROM links WHERE id = %s",
            (link_id,),
        )
    return link_id


def deliveries(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "SELECT webhook_id, event, payload FROM webhook_deliveries ORDER BY id"
    ).fetchall()


def test_a_change_is_delivered_to_each_subscribed_enabled_webhook_once(
    app_db: psycopg.Connection,
) -> None:
    owner, other = key(app_db, "owner"), key(app_db, "other")
    everything = webhook(app_db, owner, ["link.created", "link.deleted"])
    only_b = webhook(app_db, owner, ["link.created"], codes=["b"])
    webhook(app_db, owner, ["link.clicked"])  # another event
    disabled = webhook(app_db, owner, ["link.created"])
    app_db.execute("UPDATE webhooks SET disabled_at = now() WHERE id = %s", (disabled,))
    webhook(app_db, other, ["link.created"])  # another key's

    link(app_db, owner, "a")
    link(app_db, owner, "b")

    made = deliveries(app_db)
    assert [(w, e, p["data"]["code"]) for w, e, p in made] == [
        (everything, "link.created", "a"),
        (everything, "link.created", "b"),
        (only_b, "link.created", "b"),
    ]
    payload = made[0][2]
    assert payload["type"] == "link.created"
    assert payload["data"]["changes"]["url"] == {"old": None, "new": "https://example.org/a"}


def test_a_rolled_back_change_leaves_no_delivery(app_db: psycopg.Connection) -> None:
    owner = key(app_db)
    webhook(app_db, owner, ["link.created"])
    with pytest.raises(RuntimeError), app_db.transaction():
        app_db.execute(
            "INSERT INTO links (code, url, owner_id) VALUES ('r', 'https://e.org', %s)", (owner,)
        )
        app_db.execute(
            "INSERT INTO link_events (link_id, code, owner_id, kind, changes)"
            " SELECT id, code, owner_id, 'link.created', '{}' FROM links WHERE code = 'r'"
        )
        raise RuntimeError("the request failed after the change")
    assert deliveries(app_db) == []


def click(stream_id: str, link_id: int, bot: bool = False) -> Click:
    return Click(stream_id, link_id, int(NOW.timestamp() * 1000), "", "", bot, "", "")


def test_a_batch_of_clicks_is_one_delivery_per_link_and_never_twice(
    app_db: psycopg.Connection,
) -> None:
    owner = key(app_db)
    hook = webhook(app_db, owner, ["link.clicked"])
    a, b = link(app_db, owner, "a"), link(app_db, owner, "b")
    batch = [click("1-0", a), click("2-0", a, bot=True), click("3-0", b), click("4-0", a)]
    with app_db.transaction():
        store.record_clicks(app_db, batch)
    with app_db.transaction():  # the same batch again (re-claimed after a crash)
        store.record_clicks(app_db, batch)

    clicked = [(w, p["data"]) for w, e, p in deliveries(app_db) if e == "link.clicked"]
    assert [(w, d["code"], d["clicks"], d["bot_clicks"]) for w, d in clicked] == [
        (hook, "a", 3, 1),
        (hook, "b", 1, 0),
    ]


def test_two_senders_never_claim_the_same_delivery(
    app_db: psycopg.Connection, postgres: Postgres
) -> None:
    owner = key(app_db)
    webhook(app_db, owner, ["link.created"])
    for number in range(40):
        link(app_db, owner, f"c{number}")
    claimed: list[list[int]] = [[], []]

    def sender(index: int) -> None:
        with postgres.connect(APP) as conn:
            while batch := outbox.claim_due(conn, datetime.now(UTC), 3, LEASE):
                claimed[index].extend(delivery.id for delivery in batch)
                time.sleep(0.01)  # while the other claims

    threads = [threading.Thread(target=sender, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    every = claimed[0] + claimed[1]
    assert len(every) == 40 and len(set(every)) == 40
    assert claimed[0] and claimed[1]  # both took part


def test_failures_retry_after_the_backoff_then_disable_the_webhook(
    app_db: psycopg.Connection,
) -> None:
    owner = key(app_db)
    hook = webhook(app_db, owner, ["link.created"])
    link(app_db, owner, "f")
    app_db.execute("UPDATE webhook_deliveries SET next_attempt_at = %s", (NOW,))
    clock = NOW
    for attempt in (1, 2):
        (due,) = outbox.claim_due(app_db, clock, 10, LEASE)
        assert due.attempts == attempt
        assert outbox.claim_due(app_db, clock, 10, LEASE) == []  # leased: not claimed twice
        disabled = outbox.record_failed(
            app_db, due, now=clock, status=503, error="HTTP 503",
            retry_in=timedelta(seconds=10 * attempt), max_attempts=5, disable_after=2,
        )  # fmt: skip
        assert disabled is (attempt == 2)
        # Not due before the backoff, due after it (the clock is the test's).
        clock += timedelta(seconds=10 * attempt)
        assert outbox.claim_due(app_db, clock - timedelta(seconds=1), 10, LEASE) == []
    # Disabled after two failures in a row: nothing more is claimed, the owner sees why.
    assert outbox.claim_due(app_db, clock, 10, LEASE) == []
    reason = app_db.execute("SELECT disabled_reason FROM webhooks WHERE id = %s", (hook,))
    assert reason.fetchone()[0] == "2 deliveries in a row failed; the last: HTTP 503"


def test_a_success_delivers_once_and_resets_the_failure_count(app_db: psycopg.Connection) -> None:
    owner = key(app_db)
    hook = webhook(app_db, owner, ["link.created"])
    link(app_db, owner, "s")
    app_db.execute("UPDATE webhooks SET consecutive_failures = 3 WHERE id = %s", (hook,))
    (due,) = outbox.claim_due(app_db, datetime.now(UTC), 10, LEASE)
    outbox.record_delivered(app_db, due, 204)
    status = app_db.execute("SELECT status, last_status FROM webhook_deliveries").fetchone()
    assert status == ("delivered", 204)
    failures = app_db.execute("SELECT consecutive_failures FROM webhooks").fetchone()[0]
    assert failures == 0
    assert outbox.claim_due(app_db, datetime.now(UTC) + timedelta(days=1), 10, LEASE) == []


def test_old_deliveries_made_or_given_up_are_pruned_pending_ones_kept(
    app_db: psycopg.Connection, queue: Queue
) -> None:
    owner = key(app_db)
    webhook(app_db, owner, ["link.created"])
    for code in ("made", "given-up", "pending", "recent"):
        link(app_db, owner, code)
    app_db.execute(
        """
        UPDATE webhook_deliveries SET
          status = CASE payload -> 'data' ->> 'code'
                     WHEN 'made' THEN 'delivered' WHEN 'given-up' THEN 'failed'
                     WHEN 'recent' THEN 'delivered' ELSE 'pending' END,
          created_at = CASE WHEN payload -> 'data' ->> 'code' = 'recent' THEN now()
                            ELSE now() - interval '91 days' END
        """
    )
    queue.enqueue(JOBS["prune-history"])
    work_off(queue)
    left = app_db.execute("SELECT payload -> 'data' ->> 'code' FROM webhook_deliveries ORDER BY id")
    assert [code for (code,) in left] == ["pending", "recent"]
