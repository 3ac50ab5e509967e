"""Running totals of what ingestion did, kept in Redis for the worker's /metrics.

Counted where it happens, in the job: RQ runs a job in a work horse, a fork that exits when
the job ends, so a counter in its memory would die with it. Totals in Redis outlive it and
are shared by every worker; metrics.py reads them at scrape time.

Two kinds: the entries by outcome, added per batch as it commits (KEY), and the runs that
found entries, added when each ends: its wall time and its entries together (RUNS_KEY), so
that entries / seconds is the worker's own ingestion rate, exact to the run (`make bench`
reads it; docs/performance.md).
"""

import logging

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY = "shortener:metrics:clicks"  # hash: outcome -> entries
OUTCOMES = ("ingested", "duplicates", "orphans", "dead_lettered")
RUNS_KEY = "shortener:metrics:ingest-runs"  # hash: runs, seconds, entries


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


def add_run(cache: Redis, seconds: float, entries: int) -> None:
    """One more run that dealt with `entries` entries in `seconds` (wall time).

    One MULTI/EXEC, so a scrape sees the run's time and its entries together or neither.
    Runs that found nothing are not added: an idle worker runs every second, and its
    empty runs would dilute the rate. Like add(), a failure is logged, never raised.
    """
    try:
        with cache.pipeline(transaction=True) as pipe:
            pipe.hincrby(RUNS_KEY, "runs", 1)
            pipe.hincrbyfloat(RUNS_KEY, "seconds", seconds)
            pipe.hincrby(RUNS_KEY, "entries", entries)
            pipe.execute()
    except RedisError as error:
        log.warning(
            "ingestion run not counted",
            extra={"error": str(error), "seconds": seconds, "entries": entries},
        )
