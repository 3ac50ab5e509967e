"""The retention job: raw clicks and the visitor hashes are kept for a while, their
rollups for ever."""

import logging
from datetime import timedelta

from shortener_worker.backends import current_settings, database
from shortener_worker.clicks.store import delete_clicks_before, delete_visitors_before

log = logging.getLogger(__name__)

# Rows per transaction: short transactions, no long lock on the table.
DELETE_BATCH = 10_000


def purge_old_clicks(retention_days: int | None = None) -> int:
    """Delete raw clicks older than the retention period, and the visitor hashes of the
    days that ended before it; return how many clicks.

    click_totals, click_days, click_referrers and click_countries are left as they are:
    the stats keep their history (visitor counts included). Batches use SKIP LOCKED, so
    two runs at once share the work.
    """
    settings = current_settings()
    age = timedelta(
        days=settings.click_retention_days if retention_days is None else retention_days
    )
    purged = 0
    while True:
        with database(settings) as conn:
            deleted = delete_clicks_before(conn, age, DELETE_BATCH)
        purged += deleted
        if deleted < DELETE_BATCH:
            break
    hashes = 0
    while True:
        with database(settings) as conn:
            deleted = delete_visitors_before(conn, age, DELETE_BATCH)
        hashes += deleted
        if deleted < DELETE_BATCH:
            break
    log.info(
        "purged old clicks",
        extra={"purged": purged, "visitor_hashes": hashes, "retention_days": age.days},
    )
    return purged
