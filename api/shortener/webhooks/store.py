"""The `webhooks` and `webhook_deliveries` tables, as the api uses them: every query is
scoped by the owner, so a key never sees or touches another key's webhooks (404)."""

from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row

WEBHOOK_COLUMNS = sql.SQL(
    "id, url, events, codes, created_at, consecutive_failures, disabled_at, disabled_reason"
)
DELIVERY_COLUMNS = sql.SQL(
    "d.id, d.message_id, d.event, d.status, d.attempts, d.created_at, "
    "CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at, "
    "d.last_status, d.last_error, d.delivered_at"
)


@dataclass(frozen=True)
class StoredWebhook:
    id: int
    url: str
    events: list[str]
    codes: list[str] | None
    created_at: datetime
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str | None


@dataclass(frozen=True)
class StoredDelivery:
    id: int
    message_id: str
    event: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


async def count_webhooks(conn: AsyncConnection, owner_id: int) -> int:
    cursor = await conn.execute("SELECT count(*) FROM webhooks WHERE owner_id = %s", (owner_id,))
    row = await cursor.fetchone()
    return row[0] if row else 0


async def insert_webhook(
    conn: AsyncConnection,
    owner_id: int,
    url: str,
    events: list[str],
    codes: list[str] | None,
    secret: str,
) -> StoredWebhook:
    async with conn.cursor(row_factory=class_row(StoredWebhook)) as cur:
        await cur.execute(
            sql.SQL(
                "INSERT INTO webhooks (owner_id, url, events, codes, secret)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING {columns}"
            ).format(columns=WEBHOOK_COLUMNS),
            (owner_id, url, events, codes, secret),
        )
        row = await cur.fetchone()
    assert row is not None  # an INSERT ... RETURNING returns its row
    return row


async def list_webhooks(conn: AsyncConnection, owner_id: int) -> list[StoredWebhook]:
    async with conn.cursor(row_factory=class_row(StoredWebhook)) as cur:
        await cur.execute(
            sql.SQL("SELECT {columns} FROM webhooks WHERE owner_id = %s ORDER BY id").format(
                columns=WEBHOOK_COLUMNS
            ),
            (owner_id,),
        )
        return await cur.fetchall()


async def find_webhook(
    conn: AsyncConnection, owner_id: int, webhook_id: int
) -> StoredWebhook | None:
    async with conn.cursor(row_factory=class_row(StoredWebhook)) as cur:
        await cur.execute(
            sql.SQL("SELECT {columns} FROM webhooks WHERE id = %s AND owner_id = %s").format(
                columns=WEBHOOK_COLUMNS
            ),
            (webhook_id, owner_id),
        )
        return await cur.fetchone()


async def delete_webhook(conn: AsyncConnection, owner_id: int, webhook_id: int) -> bool:
    """The webhook and its deliveries (pending ones are never sent)."""
    cursor = await conn.execute(
        "DELETE FROM webhooks WHERE id = %s AND owner_id = %s", (webhook_id, owner_id)
    )
    return cursor.rowcount == 1


async def enable_webhook(
    conn: AsyncConnection, owner_id: int, webhook_id: int
) -> StoredWebhook | None:
    """Deliveries resume (the pending ones first); the failure count starts again."""
    async with conn.cursor(row_factory=class_row(StoredWebhook)) as cur:
        await cur.execute(
            sql.SQL(
                "UPDATE webhooks SET disabled_at = NULL, disabled_reason = NULL,"
                " consecutive_failures = 0 WHERE id = %s AND owner_id = %s"
                " RETURNING {columns}"
            ).format(columns=WEBHOOK_COLUMNS),
            (webhook_id, owner_id),
        )
        return await cur.fetchone()


async def delivery_page(
    conn: AsyncConnection, owner_id: int, webhook_id: int, *, before_id: int | None, limit: int
) -> list[StoredDelivery]:
    """A page of one webhook's deliveries, newest first (keyset on id)."""
    async with conn.cursor(row_factory=class_row(StoredDelivery)) as cur:
        await cur.execute(
            sql.SQL(
                """
                SELECT {columns} FROM webhook_deliveries d
                JOIN webhooks w ON w.id = d.webhook_id
                WHERE w.id = %(webhook)s AND w.owner_id = %(owner)s
                  AND (%(before)s::bigint IS NULL OR d.id < %(before)s)
                ORDER BY d.id DESC LIMIT %(limit)s
                """
            ).format(columns=DELIVERY_COLUMNS),
            {"webhook": webhook_id, "owner": owner_id, "before": before_id, "limit": limit},
        )
        return await cur.fetchall()


async def retry_delivery(
    conn: AsyncConnection, owner_id: int, webhook_id: int, delivery_id: int
) -> StoredDelivery | None:
    """A failed (or pending) delivery due again now, its attempts counted afresh; None for
    a delivery that is not the owner's or was delivered already."""
    async with conn.cursor(row_factory=class_row(StoredDelivery)) as cur:
        await cur.execute(
            sql.SQL(
                """
                UPDATE webhook_deliveries d SET status = 'pending', attempts = 0,
                       next_attempt_at = now()
                FROM webhooks w
                WHERE d.id = %(delivery)s AND d.webhook_id = w.id AND w.id = %(webhook)s
                  AND w.owner_id = %(owner)s AND d.status <> 'delivered'
                RETURNING {columns}
                """
            ).format(columns=DELIVERY_COLUMNS),
            {"delivery": delivery_id, "webhook": webhook_id, "owner": owner_id},
        )
        return await cur.fetchone()
