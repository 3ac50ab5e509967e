"""The purge job, run by a real RQ worker in this process against the test containers."""

from datetime import timedelta

import psycopg
import pytest
import redis
from rq import Queue
from rq.job import Job, JobStatus

from shortener_worker.jobs import JOBS
from tests.integration.rq_jobs import work_off

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)


def add_link(
    conn: psycopg.Connection, cache: redis.Redis, code: str, age: timedelta | None
) -> None:
    """A link that expired `age` ago (negative: expires in the future; None: never), cached."""
    conn.execute(
        "INSERT INTO links (code, url, expires_at) VALUES (%s, %s, now() - %s::interval)",
        (code, f"https://e.org/{code}", age),
    )
    cache.set(f"link:{code}", "{}")


def purge(queue: Queue, **kwargs: int) -> Job:
    job = queue.enqueue(JOBS["purge-expired-links"], **kwargs)
    work_off(queue)
    assert job.get_status() == JobStatus.FINISHED
    return job


def remaining(conn: psycopg.Connection) -> list[str]:
    return [code for (code,) in conn.execute("SELECT code FROM links ORDER BY code")]


def test_purge_deletes_links_expired_beyond_grace_and_their_cache(
    queue: Queue, app_db: psycopg.Connection, cache: redis.Redis
) -> None:
    # Grace is an hour (worker_settings).
    add_link(app_db, cache, "oldest", 30 * 24 * HOUR)
    add_link(app_db, cache, "old", 2 * HOUR)
    add_link(app_db, cache, "recent", HOUR / 2)
    add_link(app_db, cache, "future", -HOUR)
    add_link(app_db, cache, "forever", None)

    job = purge(queue)

    result = job.latest_result()
    assert result is not None
    assert result.return_value == 2
    assert remaining(app_db) == ["forever", "future", "recent"]
    assert cache.exists("link:oldest", "link:old") == 0
    assert cache.exists("link:recent", "link:future", "link:forever") == 3


def test_purge_again_finds_nothing_and_honours_an_explicit_grace(
    queue: Queue, app_db: psycopg.Connection, cache: redis.Redis
) -> None:
    add_link(app_db, cache, "recent", HOUR / 2)
    add_link(app_db, cache, "future", -HOUR)

    first = purge(queue).latest_result()
    assert first is not None
    assert first.return_value == 0
    assert remaining(app_db) == ["future", "recent"]

    second = purge(queue, grace_seconds=0).latest_result()
    assert second is not None
    assert second.return_value == 1
    assert remaining(app_db) == ["future"]
    assert cache.exists("link:recent") == 0
