"""The ingestion job: clicks from the Redis stream into Postgres, each exactly once.

One run, in this order (docs/clicks.md, "Ingestion"):
1. re-claim entries pending longer than the claim threshold (their consumer died, or its
   run failed half-way); an entry delivered more than the allowed number of times is
   dead-lettered instead, so one poisonous entry cannot block the rest for ever;
2. read new entries with the consumer group, a batch at a time, until none is left or
   the time budget is spent;
3. per batch: malformed entries to the dead-letter stream; the rest in ONE transaction
   (clicks keyed by stream id + rollups of the new ones); COMMIT; only then XACK;
4. trim the stream up to the oldest entry still pending or undelivered, and forget the
   consumers of workers long gone;
5. a run that found entries adds its wall time (connections included) and their number to
   the worker's totals: entries / seconds is ingestion's rate by its own clock.

A crash anywhere leaves entries pending, never acked without their commit; the stream id
key makes writing them again harmless. So several runs, on several workers, may overlap.
"""

import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass

import psycopg
from redis import Redis
from rq import get_current_job

from shortener_worker.backends import current_settings, database, redis_connection
from shortener_worker.clicks import store, stream, tally
from shortener_worker.clicks.events import Click, MalformedEvent, parse_click
from shortener_worker.settings import WorkerSettings

log = logging.getLogger(__name__)

# A consumer that holds nothing and was not heard of for a day belongs to a worker gone.
CONSUMER_RETENTION_MS = 24 * 3600 * 1000
# Dead letters described in their log line, with their request ids: enough to follow one
# back to the api's and nginx's logs; all of them are in clicks:dead.
LOGGED_LETTERS = 10


@dataclass
class IngestReport:
    ingested: int = 0  # new clicks stored and counted
    duplicates: int = 0  # entries already stored (a batch written again): not counted twice
    orphans: int = 0  # clicks of links deleted since the redirect: skipped
    dead_lettered: int = 0  # moved to clicks:dead with a reason
    reclaimed: int = 0  # entries taken over from a dead or failed consumer
    trimmed: int = 0  # entries deleted from the stream after their ingestion
    batches: int = 0

    @property
    def entries(self) -> int:
        """Entries this run dealt with, whatever their outcome."""
        return self.ingested + self.duplicates + self.orphans + self.dead_lettered


@dataclass
class ClickBatch:
    """Entries as read from the stream, sorted into clicks and malformed events."""

    size: int
    clicks: list[Click]
    malformed: list[tuple[stream.Entry, str]]

    @classmethod
    def parse(cls, entries: Sequence[stream.Entry]) -> "ClickBatch":
        batch = cls(size=len(entries), clicks=[], malformed=[])
        for entry in entries:
            try:
                batch.clicks.append(parse_click(*entry))
            except MalformedEvent as error:
                batch.malformed.append((entry, str(error)))
        return batch


def ingest_clicks() -> dict[str, int | float]:
    """The RQ job: one bounded ingestion run; returns its counts and its wall time."""
    started = time.perf_counter()
    settings = current_settings()
    consumer = consumer_name()
    with database(settings) as conn, redis_connection(settings) as cache:
        # Autocommit: each batch opens its own transaction, committed before its XACK.
        conn.autocommit = True
        report = ingest(conn, cache, settings, consumer)
        seconds = time.perf_counter() - started
        if report.entries:
            tally.add_run(cache, seconds, report.entries)
    counts: dict[str, int | float] = {**asdict(report), "seconds": round(seconds, 6)}
    if report.batches or report.trimmed:
        log.info("ingested clicks", extra={"consumer": consumer, **counts})
    return counts


def consumer_name() -> str:
    """The group's consumer: this RQ worker's name, which is unique per worker start.

    One worker runs one job at a time, so no two runs share a consumer at once.
    """
    job = get_current_job()
    if job is not None and job.worker_name:
        return job.worker_name
    return f"{socket.gethostname()}.{os.getpid()}"


def ingest(
    conn: psycopg.Connection,
    cache: Redis,
    settings: WorkerSettings,
    consumer: str,
    clock: Callable[[], float] = time.monotonic,
) -> IngestReport:
    """Drain the stream into `conn` (autocommit) until it is empty or the budget is spent."""
    deadline = clock() + settings.click_ingest_budget_seconds
    batch_size = settings.click_batch_size
    report = IngestReport()
    stream.ensure_group(cache)

    start: bytes | str = "0-0"
    while clock() < deadline:
        start, entries = stream.claim_idle(
            cache, consumer, int(settings.click_claim_idle_seconds * 1000), start, batch_size
        )
        if entries:
            report.reclaimed += len(entries)
            _ingest_reclaimed(conn, cache, consumer, entries, settings.click_max_deliveries, report)
        if start in (b"0-0", "0-0"):
            break

    if clock() < deadline:
        # The next batch is read and parsed (in a thread) while this one is written:
        # Redis, Python and Postgres work at once rather than in turn. A batch read is
        # always written, so the budget is overrun by one batch at most.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="click-reader") as reader:
            upcoming: Future[ClickBatch] | None = reader.submit(
                _read_batch, cache, consumer, batch_size
            )
            while upcoming is not None:
                batch = upcoming.result()
                upcoming = None
                # Fewer than asked for: the stream had no more, it is drained.
                if batch.size == batch_size and clock() < deadline:
                    upcoming = reader.submit(_read_batch, cache, consumer, batch_size)
                _write_batch(conn, cache, batch, report)

    report.trimmed = stream.trim(cache)
    stream.forget_idle_consumers(cache, CONSUMER_RETENTION_MS)
    return report


def _ingest_reclaimed(
    conn: psycopg.Connection,
    cache: Redis,
    consumer: str,
    entries: list[stream.Entry],
    max_deliveries: int,
    report: IngestReport,
) -> None:
    deliveries = stream.delivery_counts(cache, consumer, [entry_id for entry_id, _ in entries])
    retry: list[stream.Entry] = []
    given_up: list[tuple[stream.Entry, str]] = []
    for entry in entries:
        times = deliveries.get(entry[0], 0)
        if times > max_deliveries:
            given_up.append((entry, f"delivered {times} times"))
        else:
            retry.append(entry)
    if given_up:
        _dead_letter(cache, given_up, report, "dead-lettered clicks delivered too often")
    if retry:
        _write_batch(conn, cache, ClickBatch.parse(retry), report)


def _read_batch(cache: Redis, consumer: str, batch_size: int) -> ClickBatch:
    return ClickBatch.parse(stream.read_new(cache, consumer, batch_size))


def _write_batch(
    conn: psycopg.Connection, cache: Redis, batch: ClickBatch, report: IngestReport
) -> None:
    clicks, malformed = batch.clicks, batch.malformed
    if malformed:
        _dead_letter(cache, malformed, report, "dead-lettered malformed click events")
    if clicks:
        with conn.transaction():
            outcome = store.record_clicks(conn, clicks)
        # Committed: only now may the entries leave the pending list. A crash before this
        # line leaves them pending; their next delivery inserts nothing twice.
        stream.ack(cache, [click.stream_id for click in clicks])
        report.ingested += outcome.inserted
        report.duplicates += outcome.duplicates
        report.orphans += outcome.orphans
        tally.add(
            cache,
            ingested=outcome.inserted,
            duplicates=outcome.duplicates,
            orphans=outcome.orphans,
        )
    if batch.size:
        report.batches += 1


def _dead_letter(
    cache: Redis, rejected: list[tuple[stream.Entry, str]], report: IngestReport, message: str
) -> None:
    count = stream.dead_letter(cache, rejected)
    report.dead_lettered += count
    tally.add(cache, dead_lettered=count)
    letters = [
        {
            "stream_id": entry_id.decode(),
            # The api's request id: the same id is in nginx's and the api's log lines.
            "request_id": fields.get(b"rid", b"")[:128].decode(errors="replace"),
            "reason": reason,
        }
        for (entry_id, fields), reason in rejected[:LOGGED_LETTERS]
    ]
    log.warning(message, extra={"count": count, "letters": letters})
