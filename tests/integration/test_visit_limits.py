"""A visit limit counts people: a HEAD and a link-preview bot get what a person's GET would
get, without using up a visit, and the link's `visits` (from the click pipeline) counts
the same visits the limit does. Against real Postgres and Redis, the worker's ingestion
included (redirects/decide.py, docs/api.md "Visits")."""

from collections.abc import Iterator

import httpx
import psycopg
import pytest
import redis

from shortener_worker.backends import redis_connection
from shortener_worker.clicks.ingest import ingest
from shortener_worker.settings import WorkerSettings
from tests.integration.containers import APP, Postgres

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

TARGET = "https://example.org/shared-in-a-chat"
SLACKBOT = {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"}
PERSON = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}


@pytest.fixture
def raw_cache(worker_settings: WorkerSettings) -> Iterator[redis.Redis]:
    with redis_connection(worker_settings) as client:
        yield client


async def limited_link(client: httpx.AsyncClient, max_visits: int) -> str:
    created = await client.post("/api/links", json={"url": TARGET, "max_visits": max_visits})
    assert created.status_code == 201, created.text
    return created.json()["code"]


def visit_count(app_db: psycopg.Connection, code: str) -> int:
    row = app_db.execute("SELECT visit_count FROM links WHERE code = %s", (code,)).fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize("max_visits", [1, 2])
async def test_head_and_a_preview_bot_leave_every_visit_to_people(
    client: httpx.AsyncClient, app_db: psycopg.Connection, max_visits: int
) -> None:
    code = await limited_link(client, max_visits)

    head = await client.head(f"/{code}", headers=PERSON)
    preview = await client.get(f"/{code}", headers=SLACKBOT)
    assert (head.status_code, head.headers["location"]) == (302, TARGET)
    assert (preview.status_code, preview.headers["location"]) == (302, TARGET)
    assert preview.headers["cache-control"] == "private, no-store"
    assert visit_count(app_db, code) == 0

    people = [(await client.get(f"/{code}", headers=PERSON)).status_code for _ in range(3)]
    assert people == [302] * max_visits + [410] * (3 - max_visits)
    assert visit_count(app_db, code) == max_visits

    # Once the people have used it up, HEAD and the bot get what a person would: 410.
    assert (await client.head(f"/{code}", headers=PERSON)).status_code == 410
    gone = await client.get(f"/{code}", headers=SLACKBOT)
    assert gone.status_code == 410
    assert gone.json()["type"].endswith("/link-exhausted")
    assert visit_count(app_db, code) == max_visits


async def test_a_bot_is_answered_from_postgres_every_time_never_from_a_cache(
    client: httpx.AsyncClient, app_db: psycopg.Connection
) -> None:
    """A cached limited link must still be checked: the bot's second GET, after a person
    used the last visit, is a 410 though the caches still hold the target."""
    code = await limited_link(client, 1)
    assert (await client.get(f"/{code}", headers=SLACKBOT)).status_code == 302
    assert (await client.get(f"/{code}", headers=PERSON)).status_code == 302
    assert (await client.get(f"/{code}", headers=SLACKBOT)).status_code == 410


async def test_visits_in_the_link_and_its_stats_are_the_visits_the_limit_counts(
    client: httpx.AsyncClient,
    app_db: psycopg.Connection,
    postgres: Postgres,
    raw_cache: redis.Redis,
    worker_settings: WorkerSettings,
) -> None:
    code = await limited_link(client, 2)
    await client.head(f"/{code}", headers=PERSON)
    await client.get(f"/{code}", headers=SLACKBOT)
    for _ in range(3):
        await client.get(f"/{code}", headers=PERSON)  # two visits, then a 410
    with postgres.connect(APP) as conn:
        report = ingest(conn, raw_cache, worker_settings, "consumer-a")
    # The bot's GET is a click (a bot's); the HEAD and the 410 are none.
    assert report.ingested == 3

    link = (await client.get(f"/api/links/{code}")).json()
    stats = (await client.get(f"/api/links/{code}/stats")).json()
    assert link["visits"] == visit_count(app_db, code) == 2
    # The person's two visits are one visitor (one address and agent, one day).
    assert stats["all_time"] == {"clicks": 3, "humans": 2, "bots": 1, "visitors": 1}
