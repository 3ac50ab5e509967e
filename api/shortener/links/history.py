"""The history of a link: the `link_events` table (migration 0004, docs/events.md).

Every create, change and delete writes its event in the transaction that makes it: the
statements here run on the caller's connection, inside its transaction, so the event
commits or rolls back with the change. A batch's events are one statement. What changed
is computed by the database (`link_changes`), from the row as it was and as it is.

Events are the owner's to read, newest first, for as long as the retention keeps them,
after the link is deleted too.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from shortener.keys.auth import ACTING_KEY
from shortener.logs import REQUEST_ID

CREATED, UPDATED, DELETED = "link.created", "link.updated", "link.deleted"


@dataclass(frozen=True)
class LinkEvent:
    id: int
    kind: str
    code: str
    occurred_at: datetime
    key_prefix: str | None
    request_id: str
    changes: dict[str, Any]


def actor(owner_key_id: int) -> int:
    """The key that made the change: the request's own (a key made through POST /api/keys
    acts on its owner's links), else the owner's."""
    return ACTING_KEY.get() or owner_key_id


def request_id() -> str:
    """The request's id (nginx's X-Request-ID), bound by the request id middleware."""
    return REQUEST_ID.get("")


async def record_created(conn: AsyncConnection, actor_key_id: int, link_ids: list[int]) -> None:
    """One `link.created` event per new link, all of them in one statement."""
    if not link_ids:
        return
    await conn.execute(
        """
        INSERT INTO link_events (link_id, code, owner_id, kind, actor_key_id, request_id,
                                 changes, occurred_at)
        SELECT id, code, owner_id, %(kind)s, %(actor)s, %(request)s,
               link_changes(NULL, to_jsonb(links)), created_at
        FROM links WHERE id = ANY(%(ids)s)
        ORDER BY id
        """,
        {"kind": CREATED, "actor": actor(actor_key_id), "request": request_id(), "ids": link_ids},
    )


async def record_changed(conn: AsyncConnection, actor_key_id: int, before: dict[str, Any]) -> None:
    """The event of a change to one link, or of its delete, from its row as it was
    (`before`: to_jsonb of it, read FOR UPDATE in this transaction) and as it is now (read
    here: gone means deleted). A change that changed nothing leaves no event."""
    await conn.execute(
        """
        INSERT INTO link_events (link_id, code, owner_id, kind, actor_key_id, request_id,
                                 changes)
        SELECT %(id)s, %(code)s, %(owner)s,
               CASE WHEN now_row IS NULL THEN 'link.deleted' ELSE 'link.updated' END,
               %(actor)s, %(request)s, link_changes(%(before)s, now_row)
        FROM (SELECT (SELECT to_jsonb(l) FROM links l WHERE l.id = %(id)s) AS now_row) AS link
        WHERE now_row IS NULL OR link_changes(%(before)s, now_row) <> '{}'::jsonb
        """,
        {
            "id": before["id"],
            "code": before["code"],
            "owner": before["owner_id"],
            "actor": actor(actor_key_id),
            "request": request_id(),
            "before": Jsonb(before),
        },
    )


async def history_page(
    conn: AsyncConnection, owner_id: int, code: str, *, before_id: int | None, limit: int
) -> list[LinkEvent]:
    """A page of the owner's events of `code`, newest first, older than `before_id`."""
    async with conn.cursor(row_factory=class_row(LinkEvent)) as cur:
        await cur.execute(
            """
            SELECT e.id, e.kind, e.code, e.occurred_at, k.prefix AS key_prefix,
                   e.request_id, e.changes
            FROM link_events e LEFT JOIN api_keys k ON k.id = e.actor_key_id
            WHERE e.owner_id = %(owner)s AND e.code = %(code)s
              AND (%(before)s::bigint IS NULL OR e.id < %(before)s)
            ORDER BY e.id DESC
            LIMIT %(limit)s
            """,
            {"owner": owner_id, "code": code, "before": before_id, "limit": limit},
        )
        return await cur.fetchall()
