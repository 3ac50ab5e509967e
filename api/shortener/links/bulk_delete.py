"""Deleting many of a key's links at once: all with a tag, or a list of codes.

Up to INLINE_LIMIT links are deleted in the request, as one link is (links/manage.py):
their cached redirects dropped before (required: Redis away is a 503 and nothing is
deleted) and after, the deletes and their `link.deleted` events in one statement and
one transaction. More than that would hold a request and a transaction too long: the
selection is recorded as a background job (jobs/store.py) and the worker deletes it in
chunks (worker/shortener_worker/bulk_delete.py), the caller following the job's
progress at /api/jobs/{id}.

A tag's job deletes the links that had the tag when it was made (ids up to the newest
then), not links tagged later; a list's job only codes of the key's links at the time.
"""

from dataclasses import dataclass

from psycopg import AsyncConnection

from shortener.backends import Backends
from shortener.jobs import queue
from shortener.jobs.store import BULK_DELETE, BackgroundJob, create_job, delete_job
from shortener.links.history import DELETED, request_id
from shortener.links.lookup import LinkLookup
from shortener.settings import Settings

INLINE_LIMIT = 1000


@dataclass(frozen=True)
class Selection:
    """Exactly one of `tag` (normalised) and `codes`."""

    tag: str | None = None
    codes: list[str] | None = None


async def _selected(
    conn: AsyncConnection, owner_id: int, selection: Selection, limit: int | None
) -> list[tuple[int, str]]:
    """(id, code) of the selected links of the owner, oldest first, at most `limit`."""
    cursor = await conn.execute(
        """
        SELECT id, code FROM links
        WHERE owner_id = %(owner)s
          AND (%(tag)s::text IS NULL OR tags @> ARRAY[%(tag)s::text])
          AND (%(codes)s::text[] IS NULL OR code = ANY(%(codes)s::text[]))
        ORDER BY id
        LIMIT %(limit)s
        """,
        {"owner": owner_id, "tag": selection.tag, "codes": selection.codes, "limit": limit},
    )
    return await cursor.fetchall()


DELETE_WITH_EVENTS = """
WITH deleted AS (
    DELETE FROM links WHERE owner_id = %(owner)s AND id = ANY(%(ids)s::bigint[])
    RETURNING links.*
), events AS (
    INSERT INTO link_events (link_id, code, owner_id, kind, actor_key_id, request_id, changes)
    SELECT id, code, owner_id, %(kind)s, %(owner)s, %(request)s,
           link_changes(to_jsonb(deleted), NULL)
    FROM deleted
    ORDER BY id
)
SELECT count(*) FROM deleted
"""


@dataclass(frozen=True)
class BulkDeleteOutcome:
    """`deleted` when done in the request; `job` when handed to the worker."""

    deleted: int = 0
    job: BackgroundJob | None = None


async def bulk_delete(
    backends: Backends,
    links: LinkLookup,
    settings: Settings,
    owner_id: int,
    selection: Selection,
) -> BulkDeleteOutcome:
    async with backends.database.connection() as conn:
        chosen = await _selected(conn, owner_id, selection, INLINE_LIMIT + 1)
    if not chosen:
        return BulkDeleteOutcome(deleted=0)
    if len(chosen) > INLINE_LIMIT:
        return BulkDeleteOutcome(job=await _start_job(backends, settings, owner_id, selection))
    codes = [code for _, code in chosen]
    await links.forget(codes, required=True)
    async with backends.database.connection() as conn, conn.transaction():
        cursor = await conn.execute(
            DELETE_WITH_EVENTS,
            {
                "owner": owner_id,
                "ids": [link_id for link_id, _ in chosen],
                "kind": DELETED,
                "request": request_id(),
            },
        )
        row = await cursor.fetchone()
    # A redirect may have cached a link again from its row before the delete committed.
    await links.forget(codes, required=False)
    return BulkDeleteOutcome(deleted=row[0] if row else 0)


async def _start_job(
    backends: Backends, settings: Settings, owner_id: int, selection: Selection
) -> BackgroundJob:
    async with backends.database.connection() as conn, conn.transaction():
        params: dict[str, object]
        if selection.tag is not None:
            cursor = await conn.execute(
                "SELECT count(*), max(id) FROM links "
                "WHERE owner_id = %s AND tags @> ARRAY[%s::text]",
                (owner_id, selection.tag),
            )
            total, max_id = await cursor.fetchone() or (0, None)
            params = {"tag": selection.tag, "max_id": max_id}
        else:
            codes = [code for _, code in await _selected(conn, owner_id, selection, None)]
            total, params = len(codes), {"codes": codes}
        job = await create_job(conn, owner_id, BULK_DELETE, params, total)
    # Enqueued once the row is committed, so the worker always finds it. Not taken: the
    # row goes again, and the caller's 503 means nothing was done.
    try:
        await queue.enqueue(settings, queue.BULK_DELETE_FUNCTION, job.id)
    except queue.QueueUnavailable as error:
        async with backends.database.connection() as conn:
            await delete_job(conn, job.id)
        raise queue.queue_unavailable() from error
    return job
