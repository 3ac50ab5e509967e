"""Unique visitors and countries (docs/clicks.md, "Visitors" and "Countries"): redirects
through the api as nginx forwards them (X-Forwarded-For, read by uvicorn's proxy headers
middleware), ingested by the worker's job, read back from the stats; a re-claimed batch
adds nothing; the country database missing, corrupt, swapped or absent."""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from rq import Queue
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from shortener.app import create_app
from shortener.clicks import countries
from shortener.settings import Settings
from shortener_worker.clicks import stream
from shortener_worker.clicks.ingest import ingest
from shortener_worker.jobs import JOBS
from shortener_worker.settings import WorkerSettings
from tests.geoip import write_country_database
from tests.integration.containers import APP, PUBLIC_BASE_URL, Postgres
from tests.integration.rq_jobs import work_off

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

NGINX = "172.20.0.3"  # the proxy's address on the frontend network: the ASGI peer
GERMANY, FRANCE, NOWHERE = "203.0.113.7", "198.51.100.4", "192.0.2.1"  # tests/geoip.py
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

Serve = Callable[..., Any]


@pytest.fixture
def behind_nginx(api_key: str) -> Serve:
    """`async with behind_nginx(settings) as client`: the app as uvicorn runs it (proxy
    headers trusted: main.py), reached from nginx's address."""

    @asynccontextmanager
    async def serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            proxied = ProxyHeadersMiddleware(app, trusted_hosts="*")  # type: ignore[arg-type]
            transport = httpx.ASGITransport(app=proxied, client=(NGINX, 41000))  # type: ignore[arg-type]
            async with httpx.AsyncClient(
                transport=transport,
                base_url=PUBLIC_BASE_URL,
                headers={"Authorization": f"Bearer {api_key}"},
            ) as client:
                yield client

    return serve


@pytest.fixture
def country_file(tmp_path: Path) -> Path:
    return write_country_database(tmp_path / "country.mmdb")


@pytest.fixture
def geoip_settings(make_api_settings: Callable[..., Settings], country_file: Path) -> Settings:
    return make_api_settings(geoip_database_file=country_file)


async def follow(client: httpx.AsyncClient, code: str, address: str, agent: str = FIREFOX) -> None:
    """A redirect as nginx forwards it: `X-Forwarded-For $remote_addr` (includes/upstream.conf)."""
    response = await client.get(
        f"/{code}", headers={"X-Forwarded-For": address, "User-Agent": agent}
    )
    assert response.status_code == 302


async def new_link(client: httpx.AsyncClient, tags: list[str] | None = None) -> str:
    response = await client.post(
        "/api/links", json={"url": "https://example.org/", "tags": tags or []}
    )
    assert response.status_code == 201, response.text
    return response.json()["code"]


def events(cache: redis.Redis) -> list[dict[str, str]]:
    return [fields for _, fields in cache.xrange(stream.STREAM)]


def ingest_now(queue: Queue) -> None:
    job = queue.enqueue(JOBS["ingest-clicks"])
    work_off(queue)
    assert job.latest_result().type.name == "SUCCESSFUL"


def warnings_of_countries(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == countries.__name__ and r.levelno == logging.WARNING
    ]


async def test_one_visitor_twice_is_two_clicks_one_visitor_and_countries_are_counted(
    behind_nginx: Serve, geoip_settings: Settings, queue: Queue, cache: redis.Redis
) -> None:
    async with behind_nginx(geoip_settings) as client:
        code = await new_link(client)
        await follow(client, code, GERMANY)
        await follow(client, code, GERMANY)
        await follow(client, code, FRANCE)
        await follow(client, code, NOWHERE, GOOGLEBOT)  # a bot: a click, no visitor
        recorded = events(cache)
        ingest_now(queue)
        stats = (await client.get(f"/api/links/{code}/stats")).json()
        readiness = (await client.get("/health/ready")).json()

    # The address became a country and a hash in the api; the event carries neither it
    # nor nginx's address.
    assert [e["country"] for e in recorded] == ["DE", "DE", "FR", ""]
    assert recorded[0]["visitor"] == recorded[1]["visitor"] != recorded[2]["visitor"]
    assert not any(GERMANY in v or NGINX in v for e in recorded for v in e.values())
    today = datetime.now(UTC).date().isoformat()
    [day] = [d for d in stats["days"] if d["day"] == today]
    assert (day["clicks"], day["bots"], day["visitors"]) == (4, 1, 2)
    assert stats["in_range"] == {"clicks": 4, "humans": 3, "bots": 1, "visitors": 2}
    assert stats["all_time"] == stats["in_range"]
    expected = [
        {"country": "DE", "clicks": 2},
        {"country": "", "clicks": 1},
        {"country": "FR", "clicks": 1},
    ]
    assert stats["top_countries"] == expected
    assert day["top_countries"] == expected
    assert all(d["top_countries"] == [] for d in stats["days"] if d["day"] != today)
    assert readiness["checks"]["countries"]["status"] == "pass"


# ---- exactly once, at the stream's level ---------------------------------------------


@pytest.fixture
def run(postgres: Postgres, worker_settings: WorkerSettings) -> Callable[..., Any]:
    from shortener_worker.backends import redis_connection

    def run_once(consumer: str = "consumer-a", **overrides: Any) -> Any:
        with (
            postgres.connect(APP) as conn,
            redis_connection(worker_settings) as raw,
        ):
            return ingest(conn, raw, worker_settings.model_copy(update=overrides), consumer)

    return run_once


def add_link(conn: psycopg.Connection, code: str) -> int:
    row = conn.execute(
        "INSERT INTO links (code, url) VALUES (%s, 'https://e.org/') RETURNING id", (code,)
    ).fetchone()
    assert row is not None
    return row[0]


def event(link: int, at: datetime, visitor: str, country: str = "", bot: bool = False) -> dict:
    return {
        "link": str(link),
        "at": str(int(at.timestamp() * 1000)),
        "bot": "1" if bot else "0",
        "visitor": visitor,
        "country": country,
    }


def counted(conn: psycopg.Connection) -> tuple[Any, ...]:
    def rows(query: str) -> list[tuple[Any, ...]]:
        return conn.execute(query).fetchall()

    return (
        rows("SELECT link_id, day::text, clicks, visitors FROM click_days ORDER BY 1, 2"),
        rows("SELECT link_id, clicks, visitors FROM click_totals ORDER BY 1"),
        rows("SELECT link_id, day::text, visitor FROM click_visitors ORDER BY 1, 2, 3"),
        rows("SELECT link_id, day::text, country, clicks FROM click_countries ORDER BY 1, 2, 3"),
    )


DAY = datetime(2026, 3, 1, 12, tzinfo=UTC)
A, B = "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"


def test_visitors_are_unique_per_link_and_day_across_batches(
    run: Callable[..., Any], owner_db: psycopg.Connection, cache: redis.Redis
) -> None:
    one, two = add_link(owner_db, "one"), add_link(owner_db, "two")
    cache.xadd(stream.STREAM, event(one, DAY, A, "DE"))
    cache.xadd(stream.STREAM, event(one, DAY, A, "DE"))
    cache.xadd(stream.STREAM, event(one, DAY, B, "FR"))
    run()
    # Later batches: A again the same day (no new visitor), A on the next day and on
    # another link (new ones: the hash is unique per link and day), a bot (none).
    cache.xadd(stream.STREAM, event(one, DAY, A, "DE"))
    cache.xadd(stream.STREAM, event(one, DAY + timedelta(days=1), A))
    cache.xadd(stream.STREAM, event(two, DAY, A))
    cache.xadd(stream.STREAM, event(one, DAY, "cccccccccccccccc", bot=True))
    run()

    days, totals, _, countries_ = counted(owner_db)
    assert days == [
        (one, "2026-03-01", 5, 2),
        (one, "2026-03-02", 1, 1),
        (two, "2026-03-01", 1, 1),
    ]
    assert totals == [(one, 6, 3), (two, 1, 1)]
    assert countries_ == [
        (one, "2026-03-01", "", 1),
        (one, "2026-03-01", "DE", 3),
        (one, "2026-03-01", "FR", 1),
        (one, "2026-03-02", "", 1),
        (two, "2026-03-01", "", 1),
    ]


def test_a_reclaimed_batch_leaves_visitors_and_countries_unchanged(
    run: Callable[..., Any],
    owner_db: psycopg.Connection,
    cache: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    link = add_link(owner_db, "again")
    for visitor, country in ((A, "DE"), (A, "DE"), (B, "FR")):
        cache.xadd(stream.STREAM, event(link, DAY, visitor, country))

    def lost_connection(*args: object) -> None:
        raise redis.ConnectionError("connection lost before XACK")

    with monkeypatch.context() as patch:
        patch.setattr(stream, "ack", lost_connection)
        with pytest.raises(redis.ConnectionError):
            run()
    before = counted(owner_db)
    assert before[0] == [(link, "2026-03-01", 3, 2)]

    report = run(consumer="consumer-b", click_claim_idle_seconds=0)

    assert (report.reclaimed, report.ingested, report.duplicates) == (3, 0, 3)
    assert counted(owner_db) == before


def test_retention_purges_old_hashes_and_keeps_the_counts(
    run: Callable[..., Any], queue: Queue, owner_db: psycopg.Connection, cache: redis.Redis
) -> None:
    link = add_link(owner_db, "kept")
    now = datetime.now(UTC)
    cache.xadd(stream.STREAM, event(link, now - timedelta(days=92), A))
    cache.xadd(stream.STREAM, event(link, now - timedelta(minutes=1), A))
    run()
    days_before = counted(owner_db)[0]

    queue.enqueue(JOBS["purge-old-clicks"])  # retention: 90 days by default
    work_off(queue)

    days, totals, hashes, _ = counted(owner_db)
    assert days == days_before and totals == [(link, 2, 2)]
    assert hashes == [(link, now.date().isoformat(), A)]


# ---- the country database: missing, corrupt, swapped, absent ---------------------------


async def test_no_database_configured_no_country_and_readiness_says_so(
    behind_nginx: Serve, api_settings: Settings, cache: redis.Redis
) -> None:
    async with behind_nginx(api_settings) as client:
        code = await new_link(client)
        await follow(client, code, GERMANY)
        readiness = (await client.get("/health/ready")).json()

    assert [e["country"] for e in events(cache)] == [""]
    assert readiness["status"] == "warn"
    assert readiness["checks"]["countries"] == {
        "status": "warn",
        "output": "no country database configured",
    }


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
async def test_an_unusable_file_still_redirects_and_warns_once(
    behind_nginx: Serve,
    make_api_settings: Callable[..., Settings],
    tmp_path: Path,
    cache: redis.Redis,
    caplog: pytest.LogCaptureFixture,
    damage: str,
) -> None:
    path = tmp_path / "country.mmdb"
    if damage == "corrupt":
        path.write_bytes(b"MaxMind.com? not really" * 100)
    caplog.set_level(logging.WARNING, logger=countries.__name__)
    async with behind_nginx(make_api_settings(geoip_database_file=path)) as client:
        code = await new_link(client)
        for _ in range(5):
            await follow(client, code, GERMANY)
        ready = await client.get("/health/ready")

    assert [e["country"] for e in events(cache)] == [""] * 5
    assert len(warnings_of_countries(caplog)) == 1
    assert ready.status_code == 200
    assert ready.json()["status"] == "warn"
    assert ready.json()["checks"]["countries"]["status"] == "warn"
    assert str(path) in ready.json()["checks"]["countries"]["output"]


def rewrite_in_place(path: Path, countries_: dict[str, str]) -> None:
    """What `cp new.mmdb country.mmdb` does: the same inode, truncated and written."""
    path.write_bytes(write_country_database(path.with_name("next.mmdb"), countries_).read_bytes())


async def test_a_swapped_file_is_used_without_a_restart(
    behind_nginx: Serve,
    geoip_settings: Settings,
    country_file: Path,
    cache: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(countries, "CHECK_SECONDS", 0.0)  # checked at every click
    async with behind_nginx(geoip_settings) as client:
        code = await new_link(client)
        await follow(client, code, GERMANY)
        # A new release renamed over the old file, as an updater (or mv) does.
        write_country_database(country_file, {"203.0.113.0/24": "IT"})
        await follow(client, code, GERMANY)
        # Rewritten in place (cp truncates first): still read whole, never a crash.
        rewrite_in_place(country_file, {"203.0.113.0/24": "ES"})
        await follow(client, code, GERMANY)

    assert [e["country"] for e in events(cache)] == ["DE", "IT", "ES"]


async def test_a_trusted_cdn_header_names_the_country(
    behind_nginx: Serve,
    make_api_settings: Callable[..., Settings],
    cache: redis.Redis,
) -> None:
    async with behind_nginx(make_api_settings(country_header="CF-IPCountry")) as client:
        code = await new_link(client)
        response = await client.get(
            f"/{code}", headers={"X-Forwarded-For": GERMANY, "CF-IPCountry": "BR"}
        )
        assert response.status_code == 302
        readiness = (await client.get("/health/ready")).json()

    assert [e["country"] for e in events(cache)] == ["BR"]
    assert readiness["checks"]["countries"]["status"] == "pass"
