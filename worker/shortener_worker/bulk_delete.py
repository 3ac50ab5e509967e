"""Bulk deletes of a key's links, as background jobs (api links/bulk_delete.py makes them).

The job's row in `background_jobs` (migration 0008) says what to delete and holds the
progress; RQ carries only its id. The links go in chunks of CHUNK, each chunk in its own
transaction with its `link.deleted` events and its progress, so a job stopped anywhere
(worker killed, database away) has deleted whole chunks and counted exactly those.
Re-running it (enqueue the id again) deletes what is left: idempotent.

Every replica's cached redirects of a chunk are dropped twice, as the api does for one
link: before its delete (the `link:{code}` keys deleted and the codes announced on
`links:changed`; Redis away fails the chunk, which then deletes nothing) and after it
commits (a redirect may have cached a link again from its row in between).
"""

import logging
from typing import Any

from psycopg import sql
from redis import Redis

from shortener_worker.backends import database, redis_connection
from shortener_worker.background_jobs import finish_job
from shortener_worker.links import LINK_CHANGES_CHANNEL

log = logging.getLogger(__name__)

CHUNK = 500

START = """
UPDATE background_jobs
SET state = 'running', started_at = coalesce(started_at, now()), finished_at = NULL
WHERE id = %s AND kind = 'bulk-delete'
RETURNING owner_id, params, request_id
"""
# The job's selection, from its params (the api wrote them).
BY_TAG = sql.SQL("tags @> ARRAY[%(tag)s::text] AND id <= %(max_id)s")
BY_CODES = sql.SQL("code = ANY(%(codes)s::text[])")
CHOOSE = sql.SQL(
    """
    SELECT id, code FROM links
    WHERE owner_id = %(owner)s AND {selection}
    ORDER BY id
    LIMIT %(chunk)s
    FOR UPDATE
    """
)
DELETE_CHUNK = """
WITH deleted AS (
    DELETE FROM links WHERE id = ANY(%(ids)s::bigint[]) RETURNING links.*
), events AS (
    INSERT INTO link_events (link_id, code, owner_id, kind, actor_key_id, request_id, changes)
    SELECT id, code, owner_id, 'link.deleted', owner_id, %(request)s,
           link_changes(to_jsonb(deleted), NULL)
    FROM deleted
    ORDER BY id
)
UPDATE background_jobs SET processed = processed + (SELECT count(*) FROM deleted)
WHERE id = %(job)s
"""


def drop_cached(cache: Redis, codes: list[str]) -> None:
    """Every replica's cached answer for `codes`: the shared keys, and each process's own
    copy (api links/local_cache.py listens on the channel)."""
    with cache.pipeline(transaction=False) as pipe:
        pipe.delete(*(f"link:{code}" for code in codes))
        pipe.publish(LINK_CHANGES_CHANNEL, " ".join(codes))
        pipe.execute()


def _selection(params: dict[str, Any]) -> sql.Composable:
    return BY_TAG if "tag" in params else BY_CODES


def delete_links_in_bulk(job_id: int) -> int:
    """Run the bulk-delete job `job_id`; return how many links this run deleted."""
    with database() as conn:
        row = conn.execute(START, (job_id,)).fetchone()
    if row is None:
        log.warning("no such bulk-delete job", extra={"job": job_id})
        return 0
    owner_id, params, request_id = row
    choose = CHOOSE.format(selection=_selection(params))
    deleted = 0
    try:
        with redis_connection() as cache:
            while True:
                with database() as conn:
                    chunk = conn.execute(choose, {**params, "owner": owner_id, "chunk": CHUNK})
                    chosen = chunk.fetchall()
                    if not chosen:
                        break
                    codes = [code for _, code in chosen]
                    drop_cached(cache, codes)  # before: if Redis is away, nothing is deleted
                    conn.execute(
                        DELETE_CHUNK,
                        {"ids": [i for i, _ in chosen], "request": request_id, "job": job_id},
                    )
                drop_cached(cache, codes)  # after the commit
                deleted += len(chosen)
                if len(chosen) < CHUNK:
                    break
    except Exception as error:
        _finish(job_id, "failed", f"{type(error).__name__}: {error}")
        log.exception("bulk delete failed", extra={"job": job_id, "deleted": deleted})
        raise
    _finish(job_id, "done")
    log.info("bulk delete done", extra={"job": job_id, "deleted": deleted})
    return deleted


def _finish(job_id: int, state: str, error: str | None = None) -> None:
    with database() as conn:
        finish_job(conn, job_id, state, error)
