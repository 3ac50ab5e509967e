"""The retention job: raw clicks are kept for a while, their rollups for ever."""

import logging
from datetime import timedelta

from shortener_worker.backends import current_settings, database
from shortener_worker.clicks.store import delete_clicks_before

log = logging.getLogger(__name__)

# Rows per transaction: short transactions, no long lock on the table.
DELETE_BATCH = 10_000


def purge_old_clicks(retention_days: int | None = None) -> int:
    """Delete raw clicks older than the retention period; return how many.

    click_totals, click_days and click_referrers are left as they are: the stats keep
    their history. Batches use SKIP LOCKED, so two runs at once share the work.
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
    log.info("purged old clicks", extra={"purged": purged, "retention_days": age.days})
    return purged
