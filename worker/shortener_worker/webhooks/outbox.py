"""The deliveries outbox (webhook_deliveries, migration 0005) as the sender works it.

A sender claims due deliveries in one short transaction: FOR UPDATE SKIP LOCKED picks rows
no other sender is claiming, and the claim moves each one's next attempt a lease ahead
and counts the attempt, so another sender leaves it alone while this one sends; no lock is
held during the HTTP request. Then each outcome is recorded. A sender that dies mid-send
leaves its deliveries due again when the lease ends: at-least-once, with the same
message id for the receiver to drop repeats (docs/events.md).

Every time here is the caller's `now`: the tests drive a clock of their own.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import class_row

CLAIM = """
UPDATE webhook_deliveries d
SET attempts = d.attempts + 1, next_attempt_at = %(now)s + %(lease)s
FROM (
    SELECT d.id
    FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= %(now)s AND w.disabled_at IS NULL
    ORDER BY d.next_attempt_at, d.id
    LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
) AS due, webhooks w
WHERE d.id = due.id AND w.id = d.webhook_id
RETURNING d.id, d.webhook_id, d.message_id, d.event, d.payload, d.attempts, w.url, w.secret
"""


@dataclass(frozen=True)
class DueDelivery:
    id: int
    webhook_id: int
    message_id: str
    event: str
    payload: dict[str, Any]
    attempts: int  # this one included
    url: str
    secret: str


def claim_due(
    conn: psycopg.Connection, now: datetime, limit: int, lease: timedelta
) -> list[DueDelivery]:
    """Up to `limit` due deliveries of enabled webhooks, leased to this sender."""
    with conn.transaction(), conn.cursor(row_factory=class_row(DueDelivery)) as cur:
        cur.execute(CLAIM, {"now": now, "lease": lease, "limit": limit})
        return cur.fetchall()


def record_delivered(conn: psycopg.Connection, delivery: DueDelivery, status: int) -> None:
    with conn.transaction():
        conn.execute(
            "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(),"
            " last_status = %s, last_error = NULL WHERE id = %s",
            (status, delivery.id),
        )
        conn.execute(
            "UPDATE webhooks SET consecutive_failures = 0 WHERE id = %s", (delivery.webhook_id,)
        )


def record_failed(
    conn: psycopg.Connection,
    delivery: DueDelivery,
    *,
    now: datetime,
    status: int | None,
    error: str,
    retry_in: timedelta,
    max_attempts: int,
    disable_after: int,
) -> bool:
    """The failed attempt: the delivery due again after `retry_in`, or failed for good after
    `max_attempts`; the webhook disabled after `disable_after` failures in a row (its owner
    sees why). True when this failure disabled the webhook."""
    with conn.transaction():
        conn.execute(
            """
            UPDATE webhook_deliveries
            SET status = CASE WHEN attempts >= %(max)s THEN 'failed' ELSE 'pending' END,
                next_attempt_at = %(next)s, last_status = %(status)s, last_error = %(error)s
            WHERE id = %(id)s
            """,
            {
                "max": max_attempts,
                "next": now + retry_in,
                "status": status,
                "error": error,
                "id": delivery.id,
            },
        )
        row = conn.execute(
            """
            UPDATE webhooks
            SET consecutive_failures = consecutive_failures + 1,
                disabled_at = CASE WHEN consecutive_failures + 1 >= %(limit)s
                                   THEN %(now)s END,
                disabled_reason = CASE WHEN consecutive_failures + 1 >= %(limit)s
                    THEN format('%%s deliveries in a row failed; the last: %%s',
                                consecutive_failures + 1, %(error)s::text) END
            WHERE id = %(id)s AND disabled_at IS NULL
            RETURNING disabled_at IS NOT NULL
            """,
            {"limit": disable_after, "now": now, "error": error, "id": delivery.webhook_id},
        ).fetchone()
    return bool(row and row[0])


@dataclass(frozen=True)
class OutboxState:
    """What the sender's metrics report, read from the table."""

    pending: int
    oldest_pending_seconds: float
    delivered: int
    failed: int
    disabled_webhooks: int


def outbox_state(conn: psycopg.Connection) -> OutboxState:
    with conn.cursor(row_factory=class_row(OutboxState)) as cur:
        cur.execute(
            """
            SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
                   coalesce(extract(epoch FROM now() - min(created_at)
                            FILTER (WHERE status = 'pending')), 0)::float8
                       AS oldest_pending_seconds,
                   count(*) FILTER (WHERE status = 'delivered') AS delivered,
                   count(*) FILTER (WHERE status = 'failed') AS failed,
                   (SELECT count(*) FROM webhooks WHERE disabled_at IS NOT NULL)
                       AS disabled_webhooks
            FROM webhook_deliveries
            """
        )
        row = cur.fetchone()
    assert row is not None  # an aggregate always has its row
    return row
