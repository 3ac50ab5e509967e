"""Random codes collide, rarely: creation retries with a fresh code, a few times only."""

from collections.abc import Iterator
from itertools import repeat

import httpx
import psycopg
import pytest

from shortener.links import store
from shortener.links.store import CODE_ATTEMPTS

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

TAKEN = "Taken01"


@pytest.fixture
def taken(owner_db: psycopg.Connection) -> str:
    owner_db.execute("INSERT INTO links (code, url) VALUES (%s, 'https://e.org/first')", (TAKEN,))
    return TAKEN


def codes_from(monkeypatch: pytest.MonkeyPatch, codes: Iterator[str]) -> list[int]:
    """Make the store draw `codes` in turn; the returned list records each draw's length."""
    draws: list[int] = []

    def new_code(length: int) -> str:
        draws.append(length)
        return next(codes)

    # The store imported new_code by name: patch the name it calls.
    monkeypatch.setattr(store, "new_code", new_code)
    return draws


async def test_a_collision_is_retried_with_a_fresh_code(
    client: httpx.AsyncClient,
    taken: str,
    monkeypatch: pytest.MonkeyPatch,
    owner_db: psycopg.Connection,
) -> None:
    draws = codes_from(monkeypatch, iter([taken, "Fresh01"]))

    response = await client.post("/api/links", json={"url": "https://e.org/second"})

    assert response.status_code == 201
    assert response.json()["code"] == "Fresh01"
    assert len(draws) == 2
    rows = owner_db.execute("SELECT code, url FROM links ORDER BY id").fetchall()
    assert rows == [(taken, "https://e.org/first"), ("Fresh01", "https://e.org/second")]


async def test_endless_collisions_give_up_with_a_503_problem(
    client: httpx.AsyncClient,
    taken: str,
    monkeypatch: pytest.MonkeyPatch,
    owner_db: psycopg.Connection,
) -> None:
    draws = codes_from(monkeypatch, repeat(taken))

    response = await client.post("/api/links", json={"url": "https://e.org/second"})

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/code-space-exhausted")
    assert len(draws) == CODE_ATTEMPTS
    assert owner_db.execute("SELECT code FROM links").fetchall() == [(taken,)]


async def test_in_a_batch_a_collision_is_retried_for_that_item_alone(
    client: httpx.AsyncClient,
    taken: str,
    monkeypatch: pytest.MonkeyPatch,
    owner_db: psycopg.Connection,
) -> None:
    # The batch inserts its items in one round trip; the second item draws the taken code.
    draws = codes_from(monkeypatch, iter(["Batch01", taken, "Batch03", "Fresh02"]))
    links = [{"url": f"https://e.org/batch/{n}"} for n in range(3)]

    response = await client.post("/api/links/batch", json={"links": links})

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [result["status"] for result in results] == [201, 201, 201]
    assert [result["link"]["code"] for result in results] == ["Batch01", "Fresh02", "Batch03"]
    assert len(draws) == 4
    rows = owner_db.execute("SELECT code, url FROM links ORDER BY code").fetchall()
    assert ("Fresh02", "https://e.org/batch/1") in rows
