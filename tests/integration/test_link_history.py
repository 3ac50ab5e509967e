"""A link's history (api/shortener/links/history.py, migration 0004): every create, change
and delete leaves exactly one event, in the transaction that made it; the owner reads it
newest first, after a delete too; the worker's purge and retention write and prune it."""

from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg import AsyncConnection
from rq import Queue

from shortener.keys.secrets import key_prefix
from shortener.keys.store import create_key
from shortener.links import history
from shortener.links.store import NewLink, insert_with_random_code
from shortener_worker.jobs import JOBS
from tests.integration.containers import APP, DATABASE, OWNER, Postgres
from tests.integration.rq_jobs import work_off

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


async def events(client: httpx.AsyncClient, code: str, **params: object) -> list[dict]:
    reply = await client.get(f"/api/links/{code}/history", params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()["items"]


def event_count(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM link_events").fetchone()[0]


async def test_create_change_and_delete_each_leave_one_event_read_newest_first(
    client: httpx.AsyncClient, api_key: str
) -> None:
    created = await client.post(
        "/api/links", json={"url": "https://example.org/a"}, headers={"X-Request-ID": "req-1"}
    )
    code = created.json()["code"]
    await client.patch(f"/api/links/{code}", json={"url": "https://example.org/b"})
    # The same value again: nothing changed, so nothing is recorded.
    await client.patch(f"/api/links/{code}", json={"url": "https://example.org/b"})
    await client.patch(f"/api/links/{code}", json={"max_visits": 5, "forward_query": True})
    assert (await client.delete(f"/api/links/{code}")).status_code == 204
    assert (await client.get(f"/api/links/{code}")).status_code == 404

    deleted, changed, moved, made = await events(client, code)  # the history outlives it
    assert [e["event"] for e in (made, moved, changed, deleted)] == [
        "link.created",
        "link.updated",
        "link.updated",
        "link.deleted",
    ]
    assert made["id"] < moved["id"] < changed["id"] < deleted["id"]
    assert made["request_id"] == "req-1"
    assert made["key_prefix"] == key_prefix(api_key)
    assert made["changes"] == {
        "url": {"old": None, "new": "https://example.org/a"},
        "redirect_type": {"old": None, "new": 302},
        "forward_query": {"old": None, "new": False},
        "protected": {"old": None, "new": False},
        "allow_indexing": {"old": None, "new": False},
    }
    assert moved["changes"] == {
        "url": {"old": "https://example.org/a", "new": "https://example.org/b"}
    }
    assert changed["changes"] == {
        "max_visits": {"old": None, "new": 5},
        "forward_query": {"old": False, "new": True},
    }
    assert deleted["changes"]["url"] == {"old": "https://example.org/b", "new": None}
    assert deleted["changes"]["max_visits"] == {"old": 5, "new": None}


async def test_pages_follow_the_cursor_and_another_key_sees_nothing(
    client: httpx.AsyncClient, postgres: Postgres
) -> None:
    code = (await client.post("/api/links", json={"url": "https://example.org/p"})).json()["code"]
    for number in range(4):
        await client.patch(f"/api/links/{code}", json={"url": f"https://example.org/p{number}"})
    first = await client.get(f"/api/links/{code}/history", params={"limit": 3})
    page = first.json()
    second = await events(client, code, limit=3, cursor=page["next_cursor"])
    ids = [e["id"] for e in page["items"] + second]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5

    with postgres.connect(APP) as conn:
        _, other_key = create_key(conn, "someone else")
    reply = await client.get(
        f"/api/links/{code}/history", headers={"Authorization": f"Bearer {other_key}"}
    )
    assert reply.status_code == 404
    assert reply.headers["content-type"].startswith("application/problem+json")


async def test_a_rolled_back_change_leaves_no_event_and_a_committed_one_exactly_one(
    postgres: Postgres, app_db: psycopg.Connection, api_key: str
) -> None:
    owner = app_db.execute("SELECT id FROM api_keys").fetchone()[0]
    async with await AsyncConnection.connect(
        host=postgres.host,
        port=postgres.port,
        dbname=DATABASE,
        user=APP,
        password=postgres.password_file(APP).read_text().strip(),
    ) as conn:
        async with conn.transaction(force_rollback=True):
            stored = await insert_with_random_code(conn, NewLink(owner, "https://e.org/r"), 7)
            await history.record_created(conn, owner, [stored.id])
        assert event_count(app_db) == 0
        async with conn.transaction():
            stored = await insert_with_random_code(conn, NewLink(owner, "https://e.org/c"), 7)
            await history.record_created(conn, owner, [stored.id])
    assert event_count(app_db) == 1


@pytest.fixture
def insert_statements(postgres: Postgres) -> Iterator[psycopg.Connection]:
    """Counts the INSERT statements on link_events (a statement-level trigger)."""
    with postgres.connect(OWNER) as conn:
        conn.execute(
            """
            CREATE TABLE history_inserts (statements int NOT NULL);
            INSERT INTO history_inserts VALUES (0);
            CREATE FUNCTION count_history_insert() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN UPDATE history_inserts SET statements = statements + 1; RETURN NULL; END $$;
            CREATE TRIGGER count_history_inserts AFTER INSERT ON link_events
            FOR EACH STATEMENT EXECUTE FUNCTION count_history_insert();
            """
        )
        try:
            yield conn
        finally:
            conn.execute(
                "DROP TRIGGER count_history_inserts ON link_events;"
                " DROP FUNCTION count_history_insert(); DROP TABLE history_inserts"
            )


async def test_a_batch_of_1000_leaves_1000_events_in_one_statement(
    client: httpx.AsyncClient, insert_statements: psycopg.Connection, app_db: psycopg.Connection
) -> None:
    items = [{"url": f"https://example.org/batch/{n}"} for n in range(1000)]
    reply = await client.post("/api/links/batch", json={"links": items})
    assert reply.json()["created"] == 1000
    assert event_count(app_db) == 1000
    kinds = app_db.execute("SELECT DISTINCT kind FROM link_events").fetchall()
    assert kinds == [("link.created",)]
    statements = insert_statements.execute("SELECT statements FROM history_inserts").fetchone()
    assert statements == (1,)


async def test_the_purge_of_expired_links_records_their_delete_as_the_systems(
    client: httpx.AsyncClient, queue: Queue, app_db: psycopg.Connection
) -> None:
    code = (await client.post("/api/links", json={"url": "https://example.org/e"})).json()["code"]
    app_db.execute(
        "UPDATE links SET expires_at = now() - interval '2 hours' WHERE code = %s", (code,)
    )
    queue.enqueue(JOBS["purge-expired-links"])
    work_off(queue)

    deleted, _ = await events(client, code)
    assert deleted["event"] == "link.deleted"
    assert deleted["key_prefix"] is None  # no key: the worker's purge
    assert deleted["changes"]["url"]["old"] == "https://example.org/e"


async def test_history_past_its_retention_is_pruned(
    client: httpx.AsyncClient, queue: Queue, app_db: psycopg.Connection
) -> None:
    old = (await client.post("/api/links", json={"url": "https://example.org/o"})).json()["code"]
    new = (await client.post("/api/links", json={"url": "https://example.org/n"})).json()["code"]
    app_db.execute(
        "UPDATE link_events SET occurred_at = now() - interval '91 days' WHERE code = %s", (old,)
    )
    job = queue.enqueue(JOBS["prune-history"])
    work_off(queue)
    assert job.return_value() == 1  # the event (no webhook: no delivery to prune)
    assert (await client.get(f"/api/links/{old}/history")).status_code == 404
    assert len(await events(client, new)) == 1
