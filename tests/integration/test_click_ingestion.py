"""Click ingestion (worker/shortener_worker/clicks): events XADDed as the api writes them
(docs/clicks.md), ingested into the real tables as the app role, crashes made with
monkeypatch at the exact step they would hit."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import redis
from rq import Queue
from rq.job import JobStatus

from shortener_worker.backends import redis_connection
from shortener_worker.clicks import store, stream
from shortener_worker.clicks.ingest import IngestReport, ingest
from shortener_worker.jobs import JOBS
from shortener_worker.settings import WorkerSettings
from tests.integration.containers import APP, Postgres
from tests.integration.rq_jobs import work_off

pytestmark = pytest.mark.integration

DAY_1 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
DAY_2 = datetime(2025, 3, 2, 23, 59, 59, 999_000, tzinfo=UTC)
VISITOR = "0123456789abcdef"

Run = Callable[..., IngestReport]


@pytest.fixture
def settings(worker_settings: WorkerSettings) -> WorkerSettings:
    return worker_settings


@pytest.fixture
def raw_cache(settings: WorkerSettings) -> Iterator[redis.Redis]:
    """Bytes in, bytes out: the worker's own client, as the job uses it."""
    with redis_connection(settings) as client:
        yield client


@pytest.fixture
def run(postgres: Postgres, raw_cache: redis.Redis, settings: WorkerSettings) -> Run:
    """One ingestion run as the app role; keywords override settings."""

    def run_once(consumer: str = "consumer-a", **overrides: Any) -> IngestReport:
        with postgres.connect(APP) as conn:
            return ingest(conn, raw_cache, settings.model_copy(update=overrides), consumer)

    return run_once


def add_link(conn: psycopg.Connection, code: str) -> int:
    row = conn.execute(
        "INSERT INTO links (code, url) VALUES (%s, %s) RETURNING id",
        (code, f"https://e.org/{code}"),
    ).fetchone()
    assert row is not None
    return row[0]


def event(
    link: int,
    at: datetime = DAY_1,
    ref: str = "",
    ua: str = "Chrome",
    bot: bool = False,
    visitor: str = VISITOR,
    rid: str = "",
) -> dict[str, str]:
    """A click event with every field of the contract."""
    return {
        "link": str(link),
        "at": str(int(at.timestamp() * 1000)),
        "ref": ref,
        "ua": ua,
        "bot": "1" if bot else "0",
        "visitor": visitor,
        "rid": rid,
    }


def append(cache: redis.Redis, *events: dict[str, str]) -> list[str]:
    return [cache.xadd(stream.STREAM, fields) for fields in events]


def totals(conn: psycopg.Connection) -> dict[int, tuple[int, int]]:
    rows = conn.execute("SELECT link_id, clicks, bot_clicks FROM click_totals")
    return {link: (clicks, bots) for link, clicks, bots in rows}


def days(conn: psycopg.Connection) -> dict[tuple[int, str], tuple[int, int]]:
    rows = conn.execute("SELECT link_id, day::text, clicks, bot_clicks FROM click_days")
    return {(link, day): (clicks, bots) for link, day, clicks, bots in rows}


def referrers(conn: psycopg.Connection) -> dict[tuple[int, str, str], int]:
    rows = conn.execute("SELECT link_id, day::text, referrer_host, clicks FROM click_referrers")
    return {(link, day, host): clicks for link, day, host, clicks in rows}


def stored(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM clicks").fetchone()
    assert row is not None
    return row[0]


def snapshot(conn: psycopg.Connection) -> tuple[Any, ...]:
    return stored(conn), totals(conn), days(conn), referrers(conn)


def pending(cache: redis.Redis) -> int:
    return cache.xpending(stream.STREAM, stream.GROUP)["pending"]


def dead_letters(raw_cache: redis.Redis) -> list[dict[str, str]]:
    """The dead letters' fields (read as bytes: a letter may hold what is not UTF-8)."""
    return [
        {key.decode(): value.decode(errors="replace") for key, value in fields.items()}
        for _, fields in raw_cache.xrange(stream.DEAD_LETTERS)
    ]


def read_as(cache: redis.Redis, consumer: str, count: int) -> list[str]:
    """A consumer that reads entries and never acks them: it died."""
    stream.ensure_group(cache)
    reply = cache.xreadgroup(stream.GROUP, consumer, {stream.STREAM: ">"}, count=count)
    return [entry_id for entry_id, _ in reply[0][1]]


def test_n_events_become_n_clicks_and_their_rollups(
    run: Run, owner_db: psycopg.Connection, cache: redis.Redis
) -> None:
    a, b = add_link(owner_db, "a"), add_link(owner_db, "b")
    append(
        cache,
        event(a, DAY_1, ref="news.example"),
        event(a, DAY_1, ref="news.example"),
        event(a, DAY_1, ref="", bot=True, ua="Googlebot"),
        event(a, DAY_2, ref="mail.example", rid="req-1"),
        event(b, DAY_2, ref="news.example", bot=True),
    )

    report = run()

    assert (report.ingested, report.duplicates, report.dead_lettered) == (5, 0, 0)
    assert stored(owner_db) == 5
    assert totals(owner_db) == {a: (4, 1), b: (1, 1)}
    assert days(owner_db) == {
        (a, "2025-03-01"): (3, 1),
        (a, "2025-03-02"): (1, 0),
        (b, "2025-03-02"): (1, 1),
    }
    assert referrers(owner_db) == {
        (a, "2025-03-01", "news.example"): 2,
        (a, "2025-03-01", ""): 1,
        (a, "2025-03-02", "mail.example"): 1,
        (b, "2025-03-02", "news.example"): 1,
    }
    row = owner_db.execute(
        "SELECT clicked_at, agent_family, visitor, request_id FROM clicks"
        " WHERE request_id = 'req-1'"
    ).fetchone()
    assert row == (DAY_2, "Chrome", VISITOR, "req-1")
    # Acked and trimmed: nothing left pending, nothing kept that is done with.
    assert pending(cache) == 0
    assert cache.xlen(stream.STREAM) == 0
    assert report.trimmed == 5


def test_many_batches_drain_the_stream(
    run: Run, owner_db: psycopg.Connection, cache: redis.Redis
) -> None:
    link = add_link(owner_db, "busy")
    append(cache, *(event(link, ref=f"r{n % 3}.example", bot=n % 4 == 0) for n in range(250)))

    report = run(click_batch_size=40)

    assert report.ingested == 250
    assert report.batches == 7
    assert totals(owner_db) == {link: (250, 63)}
    assert sum(referrers(owner_db).values()) == 250


def test_the_same_entries_processed_twice_count_once(
    run: Run, owner_db: psycopg.Connection, cache: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = add_link(owner_db, "twice")
    append(cache, *(event(link, ref="x.example") for _ in range(20)))
    monkeypatch.setattr(stream, "trim", lambda cache: 0)  # keep the entries to read again

    first = run()
    before = snapshot(owner_db)
    # Rewind the group: every entry is "new" again, as if the acks had never happened.
    cache.xgroup_setid(stream.STREAM, stream.GROUP, "0")
    second = run()

    assert (first.ingested, first.duplicates) == (20, 0)
    assert (second.ingested, second.duplicates) == (0, 20)
    assert snapshot(owner_db) == before
    assert totals(owner_db) == {link: (20, 0)}


def test_a_crash_after_commit_before_ack_counts_once(
    run: Run, owner_db: psycopg.Connection, cache: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = add_link(owner_db, "acked")
    append(cache, *(event(link, bot=n == 0) for n in range(10)))

    def lost_connection(*args: object) -> None:
        raise redis.ConnectionError("connection lost before XACK")

    with monkeypatch.context() as patch:
        patch.setattr(stream, "ack", lost_connection)
        with pytest.raises(redis.ConnectionError):
            run()
    # Committed, not acked: the rows are there and the entries still pending.
    assert totals(owner_db) == {link: (10, 1)}
    assert pending(cache) == 10

    # The next run re-claims them (as soon as they are idle: threshold 0 here).
    report = run(consumer="consumer-b", click_claim_idle_seconds=0)

    assert (report.reclaimed, report.ingested, report.duplicates) == (10, 0, 10)
    assert totals(owner_db) == {link: (10, 1)}
    assert stored(owner_db) == 10
    assert pending(cache) == 0


def test_a_crash_before_commit_loses_nothing(
    run: Run, owner_db: psycopg.Connection, cache: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = add_link(owner_db, "rolled-back")
    append(cache, *(event(link, ref="r.example") for _ in range(10)))
    record_clicks = store.record_clicks

    def crash_after_the_rollups(conn: psycopg.Connection, clicks: Any) -> Any:
        record_clicks(conn, clicks)  # clicks and rollups written, not committed
        raise psycopg.OperationalError("the worker died before COMMIT")

    with monkeypatch.context() as patch:
        patch.setattr(store, "record_clicks", crash_after_the_rollups)
        with pytest.raises(psycopg.OperationalError):
            run()
    assert snapshot(owner_db) == (0, {}, {}, {})
    assert pending(cache) == 10

    # Same consumer, next run: its own pending entries, re-claimed once idle.
    report = run(click_claim_idle_seconds=0)

    assert (report.reclaimed, report.ingested) == (10, 10)
    assert totals(owner_db) == {link: (10, 0)}
    assert referrers(owner_db) == {(link, "2025-03-01", "r.example"): 10}
    assert pending(cache) == 0


def test_a_dead_consumers_entries_are_reclaimed_once_idle(
    run: Run, owner_db: psycopg.Connection, cache: redis.Redis
) -> None:
    link = add_link(owner_db, "orphaned-work")
    append(cache, *(event(link) for _ in range(8)))
    read_as(cache, "dead-consumer", 5)

    # Not idle long enough: the dead one's entries stay; the three unread ones go in.
    early = run(click_claim_idle_seconds=60)
    assert (early.reclaimed, early.ingested) == (0, 3)
    assert pending(cache) == 5

    late = run(click_claim_idle_seconds=0)
    assert (late.reclaimed, late.ingested) == (5, 5)
    assert totals(owner_db) == {link: (8, 0)}
    assert pending(cache) == 0
    assert cache.xlen(stream.STREAM) == 0


def test_malformed_entries_go_to_the_dead_letter_stream(
    run: Run, owner_db: psycopg.Connection, cache: redis.Redis, raw_cache: redis.Redis
) -> None:
    link = add_link(owner_db, "m")
    good = event(link)
    malformed = {
        "missing field link": {k: v for k, v in good.items() if k != "link"},
        "field link is not a positive integer": good | {"link": "abc"},
        "field at is out of range": good | {"at": "12"},
        'field bot is not "0" or "1"': good | {"bot": "yes"},
        "field visitor is not 16 hex characters": good | {"visitor": "not-a-hash"},
        "field ref contains a NUL character": good | {"ref": "a\x00b"},
        "field ua is longer than 64 bytes": good | {"ua": "x" * 65},
    }
    append(cache, good, *malformed.values(), good)
    # Not UTF-8: only a bytes client can write that.
    raw_cache.xadd(stream.STREAM, {**good, "ua": b"\xff\xfe"})

    report = run()

    assert (report.ingested, report.dead_lettered) == (2, 8)
    assert totals(owner_db) == {link: (2, 0)}
    letters = dead_letters(raw_cache)
    assert [letter["reason"] for letter in letters[:-1]] == list(malformed)
    assert raw_cache.xrange(stream.DEAD_LETTERS)[-1][1][b"ua"] == b"\xff\xfe"
    assert letters[-1]["reason"] == "field ua is not UTF-8"
    # Each copy carries the original fields.
    assert letters[1] == malformed["field link is not a positive integer"] | {
        "reason": "field link is not a positive integer"
    }
    assert pending(cache) == 0
    assert cache.xlen(stream.STREAM) == 0


def test_optional_fields_may_be_absent(
    run: Run, owner_db: psycopg.Connection, cache: redis.Redis
) -> None:
    link = add_link(owner_db, "sparse")
    append(cache, {"link": str(link), "at": str(int(DAY_1.timestamp() * 1000)), "bot": "0"})

    assert run().ingested == 1
    row = owner_db.execute(
        "SELECT referrer_host, agent_family, visitor, request_id FROM clicks"
    ).fetchone()
    assert row == ("", "", "", "")


def test_entries_delivered_too_often_go_to_the_dead_letter_stream(
    run: Run, owner_db: psycopg.Connection, cache: redis.Redis, raw_cache: redis.Redis
) -> None:
    link = add_link(owner_db, "poison")
    worn_out, tried_before = append(cache, event(link, rid="worn-out"), event(link, rid="ok"))
    read_as(cache, "dead-consumer", 2)
    # As if delivered 5 and 4 times already (XCLAIM sets the counter).
    cache.xclaim(stream.STREAM, stream.GROUP, "dead-consumer", 0, [worn_out], retrycount=5)
    cache.xclaim(stream.STREAM, stream.GROUP, "dead-consumer", 0, [tried_before], retrycount=4)

    # The re-claim is delivery 6 and 5: more than 5 gives up, 5 is still allowed.
    report = run(click_claim_idle_seconds=0, click_max_deliveries=5)

    assert (report.reclaimed, report.ingested, report.dead_lettered) == (2, 1, 1)
    given_up = event(link, rid="worn-out") | {"reason": "delivered 6 times"}
    assert dead_letters(raw_cache) == [given_up]
    assert owner_db.execute("SELECT request_id FROM clicks").fetchall() == [("ok",)]
    assert pending(cache) == 0


def test_clicks_of_a_deleted_link_are_skipped_without_failing_the_batch(
    run: Run, owner_db: psycopg.Connection, cache: redis.Redis
) -> None:
    kept, deleted = add_link(owner_db, "kept"), add_link(owner_db, "deleted")
    append(cache, event(kept), event(deleted), event(kept), event(deleted), event(deleted))
    owner_db.execute("DELETE FROM links WHERE id = %s", (deleted,))

    report = run()

    assert (report.ingested, report.orphans, report.dead_lettered) == (2, 3, 0)
    assert totals(owner_db) == {kept: (2, 0)}
    assert pending(cache) == 0


def test_trimming_keeps_pending_and_undelivered_entries(
    owner_db: psycopg.Connection, cache: redis.Redis, raw_cache: redis.Redis
) -> None:
    link = add_link(owner_db, "t")
    ids = append(cache, *(event(link) for _ in range(10)))
    read_as(cache, "dead-consumer", 2)  # ids 0-1: pending
    delivered = read_as(cache, "live-consumer", 3)  # ids 2-4: acked below
    cache.xack(stream.STREAM, stream.GROUP, *delivered)  # ids 5-9: never delivered

    # The oldest pending entry bounds the trim: nothing goes, not even the acked ones.
    assert stream.trim(raw_cache) == 0
    assert cache.xlen(stream.STREAM) == 10

    cache.xack(stream.STREAM, stream.GROUP, *ids[:2])
    # Nothing pending: everything up to the last delivered entry goes, nothing after it.
    assert stream.trim(raw_cache) == 5
    assert [entry_id for entry_id, _ in cache.xrange(stream.STREAM)] == ids[5:]


def test_trimming_waits_for_every_group(
    run: Run, owner_db: psycopg.Connection, cache: redis.Redis
) -> None:
    link = add_link(owner_db, "g")
    append(cache, *(event(link) for _ in range(4)))
    stream.ensure_group(cache)
    cache.xgroup_create(stream.STREAM, "another-reader", id="0")

    report = run()

    assert (report.ingested, report.trimmed) == (4, 0)
    assert cache.xlen(stream.STREAM) == 4


def test_consumers_of_workers_gone_are_forgotten_unless_they_hold_entries(
    run: Run, owner_db: psycopg.Connection, cache: redis.Redis, raw_cache: redis.Redis
) -> None:
    link = add_link(owner_db, "c")
    append(cache, *(event(link) for _ in range(3)))
    read_as(cache, "holds-entries", 1)
    run(consumer="held-nothing")

    # A day in production; nought here, so every consumer is "long unheard of".
    assert stream.forget_idle_consumers(raw_cache, idle_ms=0) == 1

    consumers = cache.xinfo_consumers(stream.STREAM, stream.GROUP)
    assert [(c["name"], c["pending"]) for c in consumers] == [("holds-entries", 1)]


def test_a_run_stops_when_its_time_budget_is_spent(
    owner_db: psycopg.Connection,
    cache: redis.Redis,
    raw_cache: redis.Redis,
    postgres: Postgres,
    settings: WorkerSettings,
) -> None:
    link = add_link(owner_db, "budget")
    append(cache, *(event(link) for _ in range(50)))
    ticks = iter(range(1000))  # a clock that advances one second per look
    bounded = settings.model_copy(
        update={"click_batch_size": 10, "click_ingest_budget_seconds": 3.5}
    )

    with postgres.connect(APP) as conn:
        report = ingest(conn, raw_cache, bounded, "consumer-a", clock=lambda: next(ticks))

    # Looks at t=1 (claim), t=2 and t=3 (a batch each); t=4 is past the budget.
    assert report.ingested == 20
    assert pending(cache) == 0
    assert cache.xlen(stream.STREAM) == 30  # the rest waits for the next run


def test_the_group_is_created_once_and_an_empty_stream_is_fine(
    run: Run, cache: redis.Redis
) -> None:
    first, second = run(), run()

    assert first == second == IngestReport()
    groups = cache.xinfo_groups(stream.STREAM)
    assert [group["name"] for group in groups] == [stream.GROUP]


def test_the_rq_job_ingests_as_its_worker_and_returns_its_counts(
    queue: Queue, owner_db: psycopg.Connection, cache: redis.Redis
) -> None:
    link = add_link(owner_db, "job")
    append(cache, *(event(link) for _ in range(7)))

    job = queue.enqueue(JOBS["ingest-clicks"])
    worker = work_off(queue)

    assert job.get_status() == JobStatus.FINISHED
    result = job.latest_result()
    assert result is not None
    # The run's wall time, by the work horse's clock (the metrics add it up).
    assert 0 < result.return_value.pop("seconds") < 30
    assert result.return_value == {
        "ingested": 7,
        "duplicates": 0,
        "orphans": 0,
        "dead_lettered": 0,
        "reclaimed": 0,
        "trimmed": 7,
        "batches": 1,
    }
    consumers = cache.xinfo_consumers(stream.STREAM, stream.GROUP)
    assert [consumer["name"] for consumer in consumers] == [worker.name]


def test_retention_deletes_old_raw_clicks_and_keeps_the_rollups(
    queue: Queue, run: Run, owner_db: psycopg.Connection, cache: redis.Redis
) -> None:
    link = add_link(owner_db, "old")
    now = datetime.now(UTC)
    append(
        cache,
        event(link, now - timedelta(days=120)),
        event(link, now - timedelta(days=91)),
        event(link, now - timedelta(days=89)),
        event(link, now - timedelta(minutes=1)),
    )
    run()
    rollups = totals(owner_db), days(owner_db), referrers(owner_db)

    job = queue.enqueue(JOBS["purge-old-clicks"])  # retention: 90 days by default
    work_off(queue)

    result = job.latest_result()
    assert result is not None
    assert result.return_value == 2
    assert stored(owner_db) == 2
    assert (totals(owner_db), days(owner_db), referrers(owner_db)) == rollups
    assert totals(owner_db) == {link: (4, 0)}
