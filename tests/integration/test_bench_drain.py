"""`make bench` tops the click backlog up with synthetic clicks (bench/drain.py, a Lua
script in Redis): they must be clicks as the api writes them, every one stored by the
worker, or the ingestion figure would time dead letters."""

import time

import psycopg
import pytest
import redis

from bench.drain import STREAM, TOP_UP
from shortener_worker.backends import redis_connection
from shortener_worker.clicks import stream
from shortener_worker.clicks.events import parse_click
from shortener_worker.clicks.ingest import ingest
from shortener_worker.settings import WorkerSettings
from tests.integration.containers import APP, Postgres

pytestmark = pytest.mark.integration


def test_synthetic_clicks_follow_the_contract_and_are_all_ingested(
    postgres: Postgres,
    owner_db: psycopg.Connection,
    cache: redis.Redis,
    worker_settings: WorkerSettings,
) -> None:
    ids = [
        row[0]
        for row in owner_db.execute(
            "INSERT INTO links (code, url)"
            " SELECT 'bh' || n, 'https://e.org/' || n FROM generate_series(1, 10) n RETURNING id"
        )
    ]
    assert ids == list(range(ids[0], ids[0] + 10))
    assert stream.STREAM == STREAM

    before_ms = int(time.time() * 1000)
    assert cache.eval(TOP_UP, 1, STREAM, ids[0], len(ids), 3000, 1) == 3000
    after_ms = int(time.time() * 1000)

    with redis_connection(worker_settings) as raw:
        clicks = [parse_click(*entry) for entry in raw.xrange(STREAM)]
        assert len(clicks) == 3000
        assert {click.link_id for click in clicks} == set(ids)  # spread over every link
        assert all(before_ms - 1000 <= click.at_ms <= after_ms + 1000 for click in clicks)
        assert 0.05 < sum(click.is_bot for click in clicks) / len(clicks) < 0.15
        assert len({click.visitor for click in clicks}) > 2900
        assert all(len(click.visitor) == 16 and len(click.request_id) == 32 for click in clicks)

        with postgres.connect(APP) as conn:
            report = ingest(conn, raw, worker_settings, "bench")
    assert (report.ingested, report.dead_lettered, report.orphans) == (3000, 0, 0)
