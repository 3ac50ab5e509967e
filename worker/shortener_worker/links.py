"""Jobs on links."""

import logging
from datetime import timedelta

from shortener_worker.backends import current_settings, database, redis_connection

log = logging.getLogger(__name__)

PURGE_BATCH = 1000
# The api's processes keep answers for a second and drop a code announced here at once
# (api/shortener/links/local_cache.py): a name shared like the `link:` keys.
LINK_CHANGES_CHANNEL = "links:changed"


def purge_expired_links(grace_seconds: int | None = None) -> int:
    """Delete links that expired more than `grace_seconds` ago; return how many.

    Idempotent and safe to run on several workers at once: each batch deletes with
    SKIP LOCKED, so two runs never fight over the same rows. The cached redirect of each
    purged code is dropped (and announced to the api processes), so it answers 404 at
    once instead of 410 until its TTL.
    """
    settings = current_settings()
    grace = timedelta(
        seconds=settings.expired_link_grace_seconds if grace_seconds is None else grace_seconds
    )
    purged = 0
    while True:
        with database() as conn:
            # Each purged link's `link.deleted` event in the same statement: the system's
            # own change (no key), in the history the owner reads (api links/history.py).
            rows = conn.execute(
                """
                WITH purged AS (
                    DELETE FROM links WHERE id IN (
                        SELECT id FROM links
                        WHERE expires_at < now() - %s
                        ORDER BY id
                        LIMIT %s
                        FOR UPDATE SKIP LOCKED
                    )
                    RETURNING links.*
                ), events AS (
                    INSERT INTO link_events (link_id, code, owner_id, kind, changes)
                    SELECT id, code, owner_id, 'link.deleted',
                           link_changes(to_jsonb(purged), NULL)
                    FROM purged
                )
                SELECT code FROM purged
                """,
                (grace, PURGE_BATCH),
            ).fetchall()
        codes = [code for (code,) in rows]
        if codes:
            with redis_connection() as cache, cache.pipeline(transaction=False) as pipe:
                pipe.delete(*(f"link:{code}" for code in codes))
                pipe.publish(LINK_CHANGES_CHANNEL, " ".join(codes))
                pipe.execute()
        purged += len(codes)
        if len(codes) < PURGE_BATCH:
            break
    log.info(
        "purged expired links",
        extra={"purged": purged, "grace_seconds": int(grace.total_seconds())},
    )
    return purged


PRUNE_EVENTS = """
DELETE FROM link_events WHERE id IN (
    SELECT id FROM link_events WHERE occurred_at < now() - %s
    ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
)
"""
PRUNE_DELIVERIES = """
DELETE FROM webhook_deliveries WHERE id IN (
    SELECT id FROM webhook_deliveries
    WHERE status <> 'pending' AND created_at < now() - %s
    ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
)
"""

# Background jobs (bulk deletes) finished longer ago than the retention: their owner has
# had the time to read how they ended. Queued and running ones stay.
PRUNE_JOBS = """
DELETE FROM background_jobs WHERE id IN (
    SELECT id FROM background_jobs
    WHERE state IN ('done', 'failed') AND finished_at < now() - %s
    ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
)
"""


def prune_history(retention_days: int | None = None) -> int:
    """Delete links' history (link_events), webhook deliveries made or given up (not the
    pending ones) and finished background jobs older than the retention; return how many
    rows. Batches with SKIP LOCKED, as the other purges: two runs at once share the work."""
    settings = current_settings()
    age = timedelta(
        days=settings.history_retention_days if retention_days is None else retention_days
    )
    pruned = 0
    for statement in (PRUNE_EVENTS, PRUNE_DELIVERIES, PRUNE_JOBS):
        while True:
            with database(settings) as conn:
                deleted = conn.execute(statement, (age, PURGE_BATCH)).rowcount
            pruned += deleted
            if deleted < PURGE_BATCH:
                break
    log.info("pruned link history", extra={"pruned": pruned, "retention_days": age.days})
    return pruned
