"""Every redirect appends one click event to `clicks:stream` (docs/clicks.md), against the
real Redis and Postgres; a Redis failure costs the click (counted lost, or unconfirmed when
Redis may have it), never the redirect."""

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
import redis
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from redis.exceptions import RedisError

from shortener.app import create_app
from shortener.backends import CLICKS_CLIENT_NAME, create_redis
from shortener.clicks.record import never_sent
from shortener.settings import Settings
from tests.integration.containers import PUBLIC_BASE_URL, RedisServer, closed_port

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

STREAM = "clicks:stream"
FIELDS = ["link", "at", "ref", "ua", "bot", "visitor", "rid", "country"]
TARGET = "https://example.org/clicked"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
# Documentation addresses (RFC 5737): what the app sees as the client's address.
VISITOR_ADDRESS = "203.0.113.7"
OTHER_ADDRESS = "198.51.100.4"

# The conftest's serve_api fixture: `async with serve_api(settings) as client`.
ServeApi = Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]


@asynccontextmanager
async def visitor(settings: Settings, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """An api process of its own (a replica), reached from `address`, as uvicorn would
    report it after reading nginx's X-Forwarded-For."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(address, 51000))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_BASE_URL) as client:
            yield client


def add_link(app_db: psycopg.Connection, code: str, expired: bool = False) -> int:
    row = app_db.execute(
        "INSERT INTO links (code, url, expires_at) VALUES (%s, %s, "
        "CASE WHEN %s THEN now() - interval '1 hour' END) RETURNING id",
        (code, TARGET, expired),
    ).fetchone()
    assert row is not None
    return row[0]


def clicks(cache: redis.Redis) -> list[dict[str, str]]:
    return [fields for _, fields in cache.xrange(STREAM)]


def counter(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def exposed(text: str) -> dict[str, float]:
    """The unlabelled samples of a /metrics page, by name."""
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


def click_counts() -> dict[str, float]:
    """The api's click counters (this process's registry)."""
    return {
        name: counter(f"shortener_clicks_{name}_total")
        for name in ("recorded", "lost", "unconfirmed")
    }


async def test_a_redirect_appends_one_event_with_the_contract_fields(
    client: httpx.AsyncClient, app_db: psycopg.Connection, cache: redis.Redis
) -> None:
    link_id = add_link(app_db, "Clicked1")
    recorded_before = counter("shortener_clicks_recorded_total")

    response = await client.get(
        "/Clicked1",
        headers={
            "User-Agent": CHROME,
            "Referer": "https://News.Example/story?email=someone@example.org",
            "X-Request-ID": "4f2c1b0e9d8a7f6e5d4c3b2a1f0e9d8c",
        },
    )

    assert response.status_code == 302
    [event] = clicks(cache)
    assert list(event) == FIELDS
    assert event["link"] == str(link_id)
    assert abs(int(event["at"]) - time.time() * 1000) < 1000
    assert event["ref"] == "news.example"
    assert event["ua"] == "Chrome"
    assert event["bot"] == "0"
    assert re.fullmatch(r"[0-9a-f]{16}", event["visitor"])
    assert event["rid"] == "4f2c1b0e9d8a7f6e5d4c3b2a1f0e9d8c"
    assert counter("shortener_clicks_recorded_total") == recorded_before + 1


async def test_a_bot_without_referrer_or_request_id(
    client: httpx.AsyncClient, app_db: psycopg.Connection, cache: redis.Redis
) -> None:
    add_link(app_db, "Crawled1")
    googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

    assert (await client.get("/Crawled1", headers={"User-Agent": googlebot})).status_code == 302

    [event] = clicks(cache)
    assert (event["ua"], event["bot"], event["ref"], event["rid"]) == ("Googlebot", "1", "", "")


async def test_n_redirects_append_n_events(
    client: httpx.AsyncClient, app_db: psycopg.Connection, cache: redis.Redis
) -> None:
    link_id = add_link(app_db, "Counted1")
    for _ in range(25):
        assert (await client.get("/Counted1")).status_code == 302

    events = clicks(cache)
    assert len(events) == 25
    assert {event["link"] for event in events} == {str(link_id)}
    # No MAXLEN on the XADD: trimming is the worker's, after ingestion.
    assert cache.xlen(STREAM) == 25


async def test_missing_expired_exhausted_and_head_append_nothing(
    client: httpx.AsyncClient, app_db: psycopg.Connection, cache: redis.Redis
) -> None:
    add_link(app_db, "Expired1", expired=True)
    add_link(app_db, "Checked1")
    created = await client.post("/api/links", json={"url": TARGET, "max_visits": 1})
    limited = created.json()["code"]
    assert (await client.get(f"/{limited}")).status_code == 302  # the one visit: recorded
    recorded_before = counter("shortener_clicks_recorded_total")

    assert (await client.get("/NoSuchLink")).status_code == 404
    assert (await client.get("/Expired1")).status_code == 410
    assert (await client.get(f"/{limited}")).status_code == 410
    # A link checker asking where a link goes sends nobody there: no click.
    assert (await client.head("/Checked1")).status_code == 302

    assert len(clicks(cache)) == 1
    assert counter("shortener_clicks_recorded_total") == recorded_before


async def test_without_redis_the_redirect_works_and_the_lost_click_is_counted(
    make_api_settings: Callable[..., Settings],
    app_db: psycopg.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_link(app_db, "Offline1")
    settings = make_api_settings(redis_host="127.0.0.1", redis_port=closed_port())
    lost_before = counter("shortener_clicks_lost_total")
    recorded_before = counter("shortener_clicks_recorded_total")

    with caplog.at_level(logging.WARNING, logger="shortener.clicks"):
        async with visitor(settings, VISITOR_ADDRESS) as client:
            response = await client.get("/Offline1", headers={"User-Agent": CHROME})

    assert response.status_code == 302
    assert response.headers["location"] == TARGET
    assert counter("shortener_clicks_lost_total") == lost_before + 1
    assert counter("shortener_clicks_recorded_total") == recorded_before
    [warning] = [record for record in caplog.records if record.name.startswith("shortener.clicks")]
    assert warning.levelno == logging.WARNING
    assert VISITOR_ADDRESS not in repr(warning.__dict__)


@asynccontextmanager
async def relay_dropping_xadd_answers(host: str, port: int) -> AsyncIterator[int]:
    """A TCP relay to Redis on a loopback port (yielded): it passes every command on, and
    every answer back until a connection has sent an XADD; that connection is then closed
    instead. Redis applied the XADD; its client never hears so, as when Redis goes away
    between the two."""

    async def relay(
        client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        server_reader, server_writer = await asyncio.open_connection(host, port)
        xadd_sent = asyncio.Event()

        async def commands() -> None:
            while data := await client_reader.read(65536):
                server_writer.write(data)
                await server_writer.drain()
                if b"XADD" in data.upper():
                    xadd_sent.set()

        async def answers() -> None:
            while (data := await server_reader.read(65536)) and not xadd_sent.is_set():
                client_writer.write(data)
                await client_writer.drain()

        sending = asyncio.create_task(commands())
        await answers()
        sending.cancel()
        client_writer.close()
        server_writer.close()

    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def test_a_click_whose_answer_never_came_is_unconfirmed_and_stored_once(
    make_api_settings: Callable[..., Settings],
    redis_server: RedisServer,
    app_db: psycopg.Connection,
    cache: redis.Redis,
) -> None:
    add_link(app_db, "NoAnswr1")
    before = click_counts()
    async with relay_dropping_xadd_answers(redis_server.host, redis_server.port) as port:
        settings = make_api_settings(redis_host="127.0.0.1", redis_port=port)
        async with visitor(settings, VISITOR_ADDRESS) as client:
            response = await client.get("/NoAnswr1", headers={"User-Agent": CHROME})

    assert response.status_code == 302
    after = click_counts()
    assert {name: after[name] - before[name] for name in after} == {
        "recorded": 0,
        "lost": 0,
        "unconfirmed": 1,
    }
    assert len(clicks(cache)) == 1  # not lost: Redis has it, once (appends are never retried)


async def test_redis_errors_tell_a_failed_connect_from_a_lost_answer(
    make_api_settings: Callable[..., Settings], redis_server: RedisServer, cache: redis.Redis
) -> None:
    """`never_sent` reads redis-py's messages: held here to what this redis-py raises, on
    a client made as the api makes its click client (no retry)."""

    async def append_error(port: int) -> RedisError:
        clicks_client = create_redis(
            make_api_settings(redis_host="127.0.0.1", redis_port=port),
            CLICKS_CLIENT_NAME,
            retries=0,
        )
        with pytest.raises(RedisError) as failed:
            await clicks_client.xadd(STREAM, {"link": "1"})
        await clicks_client.aclose()
        return failed.value

    refused = await append_error(closed_port())
    assert never_sent(refused), refused

    async with relay_dropping_xadd_answers(redis_server.host, redis_server.port) as port:
        unanswered = await append_error(port)
    assert not never_sent(unanswered), unanswered
    assert len(clicks(cache)) == 1  # applied, though the client saw an error


async def test_the_day_salt_is_shared_kept_two_days_and_never_the_visitor(
    api_settings: Settings, app_db: psycopg.Connection, cache: redis.Redis
) -> None:
    add_link(app_db, "Salted01")
    key = f"clicks:salt:{datetime.now(UTC).date().isoformat()}"
    headers = {"User-Agent": CHROME}

    async with visitor(api_settings, VISITOR_ADDRESS) as replica:
        await replica.get("/Salted01", headers=headers)
        salt = cache.get(key)
        await replica.get("/Salted01", headers=headers)
        await replica.get("/Salted01", headers={"User-Agent": "curl/8.5.0"})
    async with visitor(api_settings, VISITOR_ADDRESS) as other_replica:
        await other_replica.get("/Salted01", headers=headers)
    async with visitor(api_settings, OTHER_ADDRESS) as other_visitor:
        await other_visitor.get("/Salted01", headers=headers)

    assert salt is not None
    assert re.fullmatch(r"[0-9a-f]{64}", salt)
    assert cache.get(key) == salt  # created once, then reused
    assert 172_700 < cache.ttl(key) <= 172_800
    assert cache.keys("clicks:salt:*") == [key]
    first, again, other_agent, other_process, other_address = (
        event["visitor"] for event in clicks(cache)
    )
    assert first == again == other_process  # same visitor, same day: one hash, any replica
    assert len({first, other_agent, other_address}) == 3
    assert not any(VISITOR_ADDRESS in value for event in clicks(cache) for value in event.values())


async def test_metrics_expose_the_click_counters(
    client: httpx.AsyncClient, app_db: psycopg.Connection
) -> None:
    add_link(app_db, "Metered1")
    before = await client.get("/metrics")
    assert (await client.get("/Metered1")).status_code == 302

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    # What the endpoint prints, before and after: the redirect's one click, nothing else.
    printed, printed_before = exposed(response.text), exposed(before.text)
    assert printed["shortener_clicks_recorded_total"] == (
        printed_before["shortener_clicks_recorded_total"] + 1
    )
    assert printed["shortener_clicks_lost_total"] == printed_before["shortener_clicks_lost_total"]


async def test_metrics_show_the_backlog_and_dead_letters(
    client: httpx.AsyncClient, app_db: psycopg.Connection, cache: redis.Redis
) -> None:
    add_link(app_db, "Backlog1")
    for _ in range(3):
        await client.get("/Backlog1")
    cache.xadd("clicks:dead", {"link": "x", "reason": "malformed: link"})

    text = (await client.get("/metrics")).text

    # Nothing ingests here (no worker): the three events wait in the stream.
    assert "shortener_click_stream_entries 3.0" in text
    assert "shortener_click_dead_letters 1.0" in text
    # The oldest of the three is as old as the test, a fraction of a second: not 0 (empty),
    # not the epoch (an id misread).
    age = float(text.split("\nshortener_click_stream_oldest_age_seconds ")[1].split()[0])
    assert 0 < age < 30
