"""Password-protected links against real Postgres and Redis: nothing reveals the target
before the password is given (no response, header, HEAD, preview bot or cache entry),
the right one counts exactly one click, wrong ones are limited, and a change of the
protection reaches every replica at once. The unlock page itself: tests/e2e."""

import logging
from collections.abc import Iterator

import httpx
import psycopg
import pytest
import redis

from shortener.redirects.unlock import VISITOR_ATTEMPTS
from shortener.settings import Settings
from shortener_worker.backends import redis_connection
from shortener_worker.clicks.ingest import ingest
from shortener_worker.settings import WorkerSettings
from tests.integration.conftest import ServeApi
from tests.integration.containers import APP, Postgres, closed_port

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

TARGET = "https://example.org/the-secret-place"
PASSWORD = "correct horse battery"
PERSON = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}
SLACKBOT = {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"}
BROWSER = {**PERSON, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def raw_cache(worker_settings: WorkerSettings) -> Iterator[redis.Redis]:
    with redis_connection(worker_settings) as client:
        yield client


async def protected_link(client: httpx.AsyncClient, **fields: object) -> str:
    created = await client.post("/api/links", json={"url": TARGET, "password": PASSWORD, **fields})
    assert created.status_code == 201, created.text
    assert created.json()["protected"] is True
    return created.json()["code"]


def password_hash(app_db: psycopg.Connection, code: str) -> str:
    row = app_db.execute("SELECT password_hash FROM links WHERE code = %s", (code,)).fetchone()
    assert row is not None and row[0] is not None
    return row[0]


def ingested_clicks(postgres: Postgres, cache: redis.Redis, settings: WorkerSettings) -> int:
    with postgres.connect(APP) as conn:
        return ingest(conn, cache, settings, "consumer-a").ingested


def reveals(response: httpx.Response, *secrets: str) -> bool:
    text = response.text + " ".join(f"{name}: {value}" for name, value in response.headers.items())
    return any(secret in text for secret in secrets)


async def test_the_password_is_stored_as_an_argon2id_hash_and_never_shown(
    client: httpx.AsyncClient, app_db: psycopg.Connection
) -> None:
    code = await protected_link(client)
    stored = password_hash(app_db, code)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored

    answers = [
        await client.get(f"/api/links/{code}"),
        await client.get("/api/links"),
        await client.get(f"/api/links/{code}/history"),
        await client.patch(f"/api/links/{code}", json={"password": "another one"}),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert not reveals(answer, stored, PASSWORD, "another one", "argon2")
    assert answers[0].json()["protected"] is True
    # A new password is a change in the history, told by its time, never its hash.
    changes = (await client.get(f"/api/links/{code}/history")).json()["items"][0]["changes"]
    assert set(changes) == {"password_set_at"}
    events = app_db.execute("SELECT changes::text FROM link_events").fetchall()
    assert not any("argon2" in text for (text,) in events)


async def test_before_the_password_nothing_reveals_the_target(
    client: httpx.AsyncClient, raw_cache: redis.Redis, app_db: psycopg.Connection
) -> None:
    code = await protected_link(client)
    stored = password_hash(app_db, code)

    asks = [
        await client.get(f"/{code}", headers=PERSON),
        await client.get(f"/{code}", headers=PERSON),  # now answered from the caches
        await client.head(f"/{code}", headers=PERSON),
        await client.get(f"/{code}", headers=SLACKBOT),  # a chat's link preview
        await client.get(f"/{code}?utm=x", headers=BROWSER),
        await client.post(f"/{code}", headers=FORM, content=b""),
    ]
    for answer in asks:
        assert answer.status_code == 401, answer.text
        assert "location" not in answer.headers
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-robots-tag"] == "noindex"
        assert not reveals(answer, TARGET, "the-secret-place", stored)
    assert asks[0].json()["type"].endswith("/password-required")
    # A browser's navigation gets nginx's unlock page instead of the problem document.
    assert asks[4].headers["x-accel-redirect"] == "/.unlock?state=ask"
    assert "x-accel-redirect" not in asks[0].headers

    # No Redis key or value holds the target, the hash or the password.
    assert raw_cache.exists(f"link:{code}")  # the redirect entry is cached: without them
    everything = redis_contents(raw_cache)
    assert f"link:{code}" in everything
    for secret in (TARGET, stored, PASSWORD):
        assert secret not in everything


def redis_contents(cache: redis.Redis) -> str:
    """Every key and value in Redis as text, whatever the key's type."""
    readers = {
        b"string": cache.get,
        b"hash": cache.hgetall,
        b"list": lambda key: cache.lrange(key, 0, -1),
        b"set": cache.smembers,
        b"zset": lambda key: cache.zrange(key, 0, -1),
        b"stream": cache.xrange,
    }
    return "\n".join(
        f"{key.decode()} {readers[cache.type(key)](key)!r}" for key in cache.scan_iter(count=1000)
    )


async def test_the_right_password_counts_exactly_one_click_and_wrong_ones_none(
    client: httpx.AsyncClient,
    postgres: Postgres,
    raw_cache: redis.Redis,
    worker_settings: WorkerSettings,
) -> None:
    code = await protected_link(client)

    wrong = await client.get(f"/{code}", headers={**PERSON, "Link-Password": "guess"})
    assert wrong.status_code == 401
    assert wrong.json()["type"].endswith("/password-incorrect")
    assert not reveals(wrong, TARGET)
    right = await client.get(f"/{code}", headers={**PERSON, "Link-Password": PASSWORD})
    assert right.status_code == 302
    assert right.headers["location"] == TARGET
    # A browser must not keep it: the next person at that computer unlocks it too.
    assert right.headers["cache-control"] == "private, no-store"
    assert ingested_clicks(postgres, raw_cache, worker_settings) == 1

    # The unlock page's form: a 303, so the browser goes on with a GET.
    form = await client.post(f"/{code}", headers={**BROWSER, **FORM}, content=b"password=guess")
    assert form.status_code == 401
    assert form.headers["x-accel-redirect"] == "/.unlock?state=wrong"
    body = f"password={PASSWORD.replace(' ', '+')}".encode()
    form = await client.post(f"/{code}?ref=mail", headers={**BROWSER, **FORM}, content=body)
    assert form.status_code == 303
    assert form.headers["location"] == TARGET
    assert ingested_clicks(postgres, raw_cache, worker_settings) == 1

    # HEAD with the password: where it goes, and no click.
    head = await client.head(f"/{code}", headers={**PERSON, "Link-Password": PASSWORD})
    assert head.status_code == 302
    assert ingested_clicks(postgres, raw_cache, worker_settings) == 0

    stats = (await client.get(f"/api/links/{code}/stats")).json()
    assert stats["all_time"]["clicks"] == 2


async def test_guessing_is_limited_per_visitor_and_the_right_password_waits_too(
    client: httpx.AsyncClient,
) -> None:
    code = await protected_link(client)
    for _ in range(VISITOR_ATTEMPTS):
        wrong = await client.get(f"/{code}", headers={"Link-Password": "guess"})
        assert wrong.status_code == 401

    limited = await client.get(f"/{code}", headers={"Link-Password": PASSWORD})
    assert limited.status_code == 429
    assert limited.json()["type"].endswith("/too-many-attempts")
    assert 0 < int(limited.headers["retry-after"]) <= 15 * 60
    assert not reveals(limited, TARGET)
    # Another visitor (another address) is not held up by this one's guesses.
    other = httpx.ASGITransport(app=client._transport.app, client=("192.0.2.7", 4000))  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=other, base_url=str(client.base_url)) as visitor:
        unlocked = await visitor.get(f"/{code}", headers={"Link-Password": PASSWORD})
    assert unlocked.status_code == 302


async def test_right_passwords_do_not_use_up_the_allowance(client: httpx.AsyncClient) -> None:
    code = await protected_link(client)
    for _ in range(VISITOR_ATTEMPTS * 2):
        right = await client.get(f"/{code}", headers={"Link-Password": PASSWORD})
        assert right.status_code == 302


async def test_a_change_of_protection_reaches_both_replicas_at_once(
    serve_api: ServeApi, api_settings: Settings
) -> None:
    async with serve_api(api_settings) as first, serve_api(api_settings) as second:
        code = await protected_link(first)
        for replica in (first, second):  # both keep the protected entry in their caches
            assert (await replica.get(f"/{code}")).status_code == 401

        removed = await first.patch(f"/api/links/{code}", json={"password": None})
        assert removed.json()["protected"] is False
        for replica in (first, second):
            answer = await replica.get(f"/{code}")
            assert (answer.status_code, answer.headers.get("location")) == (302, TARGET)

        added = await second.patch(f"/api/links/{code}", json={"password": "new secret"})
        assert added.json()["protected"] is True
        for replica in (first, second):
            assert (await replica.get(f"/{code}")).status_code == 401
            unlocked = await replica.get(f"/{code}", headers={"Link-Password": "new secret"})
            assert unlocked.status_code == 302


async def test_without_redis_no_password_is_checked(
    serve_api: ServeApi, make_api_settings: object, client: httpx.AsyncClient
) -> None:
    code = await protected_link(client)
    settings = make_api_settings(redis_host="127.0.0.1", redis_port=closed_port())  # type: ignore[operator]
    async with serve_api(settings) as cacheless:
        answer = await cacheless.get(f"/{code}", headers={"Link-Password": PASSWORD})
    # The attempt cannot be counted, so the limit cannot be held: no check at all.
    assert answer.status_code == 503
    assert answer.json()["type"].endswith("/cache-unavailable")
    assert not reveals(answer, TARGET)


async def test_no_log_line_holds_the_password_or_its_hash(
    client: httpx.AsyncClient, app_db: psycopg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code = await protected_link(client)
    await client.get(f"/{code}", headers={"Link-Password": "guess"})
    await client.get(f"/{code}", headers={"Link-Password": PASSWORD})
    await client.patch(f"/api/links/{code}", json={"password": "second secret"})
    stored = password_hash(app_db, code)
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    for secret in (PASSWORD, "second secret", stored, "argon2"):
        assert secret not in logged


async def test_post_is_for_protected_links_only(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/links", json={"url": TARGET})
    answer = await client.post(f"/{created.json()['code']}", headers=FORM, content=b"password=x")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD"


async def test_find_if_exists_never_answers_with_a_protected_link(
    client: httpx.AsyncClient,
) -> None:
    code = await protected_link(client)
    found = await client.post("/api/links", json={"url": TARGET, "find_if_exists": True})
    assert found.status_code == 201
    assert found.json()["code"] != code
    assert found.json()["protected"] is False


@pytest.mark.parametrize(
    ("password", "reason"), [("abc", "at least 4"), ("x" * 129, "at most 128"), (7, "string")]
)
async def test_a_bad_password_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, password: object, reason: str
) -> None:
    answer = await client.post("/api/links", json={"url": TARGET, "password": password})
    assert answer.status_code == 422
    assert [error["field"] for error in answer.json()["errors"]] == ["password"]


async def test_redirects_say_noindex_unless_the_owner_allows_indexing(
    client: httpx.AsyncClient,
) -> None:
    hidden = (await client.post("/api/links", json={"url": TARGET})).json()
    shown = (await client.post("/api/links", json={"url": TARGET, "allow_indexing": True})).json()
    assert shown["allow_indexing"] is True
    for _ in range(2):  # from Postgres, then from the caches (fast.py's shortcut)
        assert (await client.get(f"/{hidden['code']}")).headers["x-robots-tag"] == "noindex"
        assert "x-robots-tag" not in (await client.get(f"/{shown['code']}")).headers

    await client.patch(f"/api/links/{shown['code']}", json={"allow_indexing": False})
    assert (await client.get(f"/{shown['code']}")).headers["x-robots-tag"] == "noindex"
