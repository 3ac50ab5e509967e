"""Running totals of what ingestion did, kept in Redis for the worker's /metrics.

Counted where it happens, in the job: RQ runs a job in a work horse, a fork that exits when
the job ends, so a counter in its memory would die with it. Totals in Redis outlive it and
are shared by every worker; metrics.py reads them at scrape time.
"""

import logging

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY = "shortener:metrics:clicks"  # hash: outcome -> entries
OUTCOMES = ("ingested", "duplicates", "orphans", "dead_lettered")


def add(cache: Redis, **counts: int) -> None:
    """Add `counts` (keywords from OUTCOMES) to the totals: one round trip.

    After the work it counts is done (committed, acked): a count that fails is logged, and
    never fails the run, whose clicks are stored already.
    """
    counts = {outcome: n for outcome, n in counts.items() if n}
    if not counts:
        return
    try:
        with cache.pipeline(transaction=False) as pipe:
            for outcome, n in counts.items():
                pipe.hincrby(KEY, outcome, n)
            pipe.execute()
    except RedisError as error:
        log.warning("click totals not updated", extra={"error": str(error), **counts})
