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
            rows = conn.execute(
                """
                DELETE FROM links WHERE id IN (
                    SELECT id FROM links
                    WHERE expires_at < now() - %s
                    ORDER BY id
                    LIMIT %s
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING code
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
