"""POST /api/imports and GET /api/links/export: a file checked by the api, inserted by the
worker in chunks (api imports/, worker shortener_worker/imports.py); an export streamed
from a cursor (api exports/), which imports as it is."""

import csv
import io
from collections import Counter
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import httpx
import psycopg
import pytest
from rq import Queue

from shortener.settings import Settings
from shortener_worker import imports as worker_imports
from shortener_worker.jobs import JOBS
from tests.integration.conftest import ServeApi
from tests.integration.rq_jobs import work_off
from tests.integration.test_tags import new_key

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

CSV = {"Content-Type": "text/csv"}
JSONL = {"Content-Type": "application/x-ndjson"}
HEADER = "url,alias,expires_at,max_visits,tags,created_at\n"


@pytest.fixture
async def unlimited(
    serve_api: ServeApi, make_api_settings: Callable[..., Settings]
) -> AsyncIterator[httpx.AsyncClient]:
    """The app without a creation quota: the tests below make thousands of links."""
    async with serve_api(make_api_settings(creation_quota_per_minute=0)) as client:
        yield client


def csv_file(count: int, start: int = 0) -> bytes:
    rows = [f"https://example.org/{n},,,,t{n % 3},\n" for n in range(start, start + count)]
    return (HEADER + "".join(rows)).encode()


async def make_links(client: httpx.AsyncClient, count: int) -> None:
    for start in range(0, count, 1000):
        items = [
            {
                "url": f"https://example.org/page/{n}?q={n}",
                "tags": [f"tag-{n % 7}", "all"],
                **({"max_visits": n + 1} if n % 5 == 0 else {}),
                **({"expires_at": "2099-01-01T00:00:00Z"} if n % 3 == 0 else {}),
                **({"alias": f"alias-{n}"} if n % 500 == 0 else {}),
            }
            for n in range(start, min(count, start + 1000))
        ]
        batch = await client.post("/api/links/batch", json={"links": items})
        assert batch.json()["failed"] == 0, batch.text


async def start(
    client: httpx.AsyncClient, body: bytes, headers: dict[str, str] = CSV, **params: Any
) -> dict[str, Any]:
    response = await client.post("/api/imports", content=body, headers=headers, params=params)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/api/imports/{response.json()['id']}"
    return response.json()


async def finished(
    client: httpx.AsyncClient, queue: Queue, started: dict[str, Any], **headers: str
) -> dict[str, Any]:
    work_off(queue)
    done = (await client.get(f"/api/imports/{started['id']}", headers=headers)).json()
    assert done["state"] == "done", done
    return done


def link_rows(export: str) -> Counter:
    """The links of a CSV export, without what differs between two keys' copies."""
    rows = list(csv.DictReader(io.StringIO(export)))
    return Counter(
        (r["url"], r["expires_at"], r["max_visits"], r["tags"], r["created_at"]) for r in rows
    )


def marks(db: psycopg.Connection) -> list[str]:
    return [
        ref for (ref,) in db.execute("SELECT import_ref FROM links WHERE import_ref IS NOT NULL")
    ]


async def test_an_export_imports_under_another_key_as_the_same_10000_links_and_once_only(
    unlimited: httpx.AsyncClient, queue: Queue, postgres: Any, app_db: psycopg.Connection
) -> None:
    await make_links(unlimited, 10_000)
    exported = await unlimited.get("/api/links/export", params={"format": "csv"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["x-accel-buffering"] == "no"
    assert exported.text.startswith("url,alias,expires_at,max_visits,tags,created_at,code,")
    other = new_key(postgres)

    started = await start(unlimited, exported.content, headers=CSV | other, on_conflict="rename")
    assert (started["state"], started["rows"], started["total"], started["processed"]) == (
        "queued",
        10_000,
        10_000,
        0,
    )
    done = await finished(unlimited, queue, started, **other)
    assert (done["processed"], done["created"], done["existing"], done["renamed"]) == (
        10_000,
        10_000,
        0,
        20,  # the 20 aliases are the first key's: renamed
    )
    theirs = await unlimited.get("/api/links/export", headers=other)
    assert link_rows(theirs.text) == link_rows(exported.text)
    assert len(link_rows(theirs.text)) > 9000  # the rows differ: the comparison means something
    job = (await unlimited.get(f"/api/jobs/{started['id']}", headers=other)).json()
    assert (job["kind"], job["state"]) == ("import", "done")
    events = app_db.execute(
        "SELECT count(*) FROM link_events e JOIN links l ON l.id = e.link_id "
        "WHERE l.import_ref IS NOT NULL AND e.kind = 'link.created'"
    ).fetchone()[0]
    assert events == 10_000
    # The worker's rows go once the import is done.
    assert app_db.execute("SELECT count(*) FROM import_rows").fetchone()[0] == 0

    again = await finished(
        unlimited, queue, await start(unlimited, exported.content, headers=CSV | other), **other
    )
    assert (again["created"], again["existing"], again["processed"]) == (0, 10_000, 10_000)
    assert len(marks(app_db)) == len(set(marks(app_db))) == 10_000


async def test_a_dry_run_counts_and_names_rows_and_makes_nothing(
    client: httpx.AsyncClient, queue: Queue, app_db: psycopg.Connection
) -> None:
    made = await client.post("/api/links", json={"url": "https://example.org/", "alias": "taken"})
    assert made.status_code == 201
    body = (
        HEADER + "https://example.org/1,taken,,,,\nnot a url,,,,,\nhttps://e.org/,,,,,\n"
    ).encode()
    response = await client.post(
        "/api/imports", content=body, headers=CSV, params={"dry_run": True}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "dry_run": True,
        "rows": 3,
        "rejected": 1,
        "valid": 2,
        "existing": 0,
        "aliases_taken": 1,
        "errors": [{"row": 2, "field": "url", "message": response.json()["errors"][0]["message"]}],
    }
    work_off(queue)
    assert app_db.execute("SELECT count(*) FROM links").fetchone()[0] == 1
    assert app_db.execute("SELECT count(*) FROM background_jobs").fetchone()[0] == 0


async def test_bad_rows_are_named_by_row_number_and_the_rest_imported(
    client: httpx.AsyncClient, queue: Queue
) -> None:
    lines = [f"https://example.org/{n},,,,," for n in range(1, 11)]
    lines[2] = "javascript:alert(1),,,,,"
    lines[6] = "https://example.org/7,,yesterday,,,"
    started = await start(client, (HEADER + "\n".join(lines) + "\n").encode())
    assert (started["rows"], started["rejected"], started["total"]) == (10, 2, 8)
    assert [(e["row"], e["field"]) for e in started["errors"]] == [(3, "url"), (7, "expires_at")]
    done = await finished(client, queue, started)
    assert (done["created"], done["errors"]) == (8, started["errors"])

    nothing = await client.post("/api/imports", content=HEADER + "bad,,,,,\n", headers=CSV)
    assert nothing.status_code == 422
    assert nothing.json()["errors"][0]["row"] == 1
    assert (await client.post("/api/imports", content="a,b\n1,2\n", headers=CSV)).status_code == 422
    wrong_type = await client.post(
        "/api/imports", content=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415


async def test_json_lines_import(
    client: httpx.AsyncClient, queue: Queue, app_db: psycopg.Connection
) -> None:
    body = (
        b'{"url": "https://example.org/a", "tags": ["x", "Y"], "alias": "json-alias", '
        b'"created_at": "2020-05-01T10:00:00Z"}\n'
    )
    done = await finished(client, queue, await start(client, body, headers=JSONL))
    assert done["created"] == 1
    link = (await client.get("/api/links/json-alias")).json()
    assert (link["url"], link["tags"], link["alias"]) == ("https://example.org/a", ["x", "y"], True)
    assert link["created_at"].startswith("2020-05-01T10:00:00")  # the file's, kept
    # The event is the import's, now: not dated 2020 (the retention would prune it at once).
    recent = app_db.execute(
        "SELECT occurred_at > now() - interval '1 minute' FROM link_events WHERE code = %s",
        ("json-alias",),
    ).fetchone()
    assert recent == (True,)
    exported = await client.get("/api/links/export", params={"format": "jsonl", "tag": "X"})
    assert exported.headers["content-type"] == "application/x-ndjson"
    assert '"alias":"json-alias"' in exported.text and exported.text.count("\n") == 1


@pytest.mark.parametrize("policy", ["skip", "fail", "rename"])
async def test_alias_conflict_policies(
    client: httpx.AsyncClient, queue: Queue, postgres: Any, policy: str, app_db: psycopg.Connection
) -> None:
    theirs = await client.post(
        "/api/links",
        json={"url": "https://example.org/", "alias": "popular"},
        headers=new_key(postgres),
    )
    assert theirs.status_code == 201
    body = (
        HEADER + "https://example.org/1,popular,,,,\nhttps://example.org/2,free-one,,,,\n"
    ).encode()
    if policy == "fail":
        refused = await client.post(
            "/api/imports", content=body, headers=CSV, params={"on_conflict": "fail"}
        )
        assert refused.status_code == 409
        assert refused.json()["errors"] == [
            {"row": 1, "field": "alias", "message": "is already in use"}
        ]
        assert app_db.execute("SELECT count(*) FROM links").fetchone()[0] == 1
        return
    done = await finished(client, queue, await start(client, body, on_conflict=policy))
    if policy == "skip":
        assert (done["created"], done["skipped"], done["renamed"]) == (1, 1, 0)
        assert done["errors"] == [
            {"row": 1, "field": "alias", "message": "is already in use: skipped"}
        ]
    else:
        assert (done["created"], done["skipped"], done["renamed"]) == (2, 0, 1)
        renamed = app_db.execute(
            "SELECT code FROM links WHERE url = 'https://example.org/1'"
        ).fetchone()[0]
        assert renamed.startswith("popular-") and len(renamed) == len("popular-") + 4


async def test_an_import_counts_against_the_creation_quota_and_waits_for_the_next_minute(
    serve_api: ServeApi,
    make_api_settings: Callable[..., Settings],
    queue: Queue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = SimpleNamespace(now=1_000_040.0, slept=[])  # 20 s into a minute

    def sleep(seconds: float) -> None:
        clock.slept.append(seconds)
        clock.now += seconds

    monkeypatch.setattr(
        worker_imports, "time", SimpleNamespace(time=lambda: clock.now, sleep=sleep)
    )
    async with serve_api(make_api_settings(creation_quota_per_minute=800)) as client:
        done = await finished(client, queue, await start(client, csv_file(1200)))
    assert done["created"] == 1200
    # 500 in the first minute; the next 500 would pass 800: one wait, to the next minute,
    # where 500 and the last 200 fit.
    assert len(clock.slept) == 1 and 39 < clock.slept[0] < 41


async def test_an_import_stopped_anywhere_resumes_with_no_duplicates_and_no_gaps(
    unlimited: httpx.AsyncClient,
    queue: Queue,
    app_db: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = await start(unlimited, csv_file(1700))
    real_insert = worker_imports._insert
    calls = 0

    def insert_then_die(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        made = real_insert(*args)
        if calls == 3:  # the third chunk's links are inserted, its progress not yet
            raise ConnectionError("worker killed")
        return made

    monkeypatch.setattr(worker_imports, "_insert", insert_then_die)
    work_off(queue)
    failed = (await unlimited.get(f"/api/imports/{started['id']}")).json()
    assert (failed["state"], failed["processed"], failed["created"]) == ("failed", 1000, 1000)
    assert app_db.execute("SELECT count(*) FROM links").fetchone()[0] == 1000  # rolled back

    monkeypatch.setattr(worker_imports, "_insert", real_insert)
    for _ in range(2):  # run again, and once more when there is nothing left
        queue.enqueue(JOBS["import"], started["id"])
        done = await finished(unlimited, queue, started)
        assert (done["processed"], done["created"], done["existing"]) == (1700, 1700, 0)
    rows = sorted(int(ref.split(":")[1]) for ref in marks(app_db))
    assert rows == list(range(1, 1701))  # each row once: no duplicate, no gap
    events = app_db.execute("SELECT count(*) FROM link_events WHERE kind = 'link.created'")
    assert events.fetchone()[0] == 1700


async def test_an_import_is_its_owners_only(client: httpx.AsyncClient, postgres: Any) -> None:
    started = await start(client, csv_file(2))
    theirs = await client.get(f"/api/imports/{started['id']}", headers=new_key(postgres))
    assert theirs.status_code == 404


async def test_a_links_raw_clicks_as_csv(
    client: httpx.AsyncClient, app_db: psycopg.Connection
) -> None:
    link = (await client.post("/api/links", json={"url": "https://example.org/"})).json()
    link_id = app_db.execute("SELECT id FROM links WHERE code = %s", (link["code"],)).fetchone()[0]
    for n, day in enumerate(["2026-01-01", "2026-01-02", "2026-01-03"]):
        app_db.execute(
            "INSERT INTO clicks (stream_id, link_id, clicked_at, referrer_host, agent_family, "
            "is_bot, visitor, country) "
            "VALUES (%s, %s, %s, 'news.example', 'Firefox', %s, 'secret-hash', %s)",
            (f"{n}-0", link_id, f"{day}T12:00:00Z", n == 1, "DE" if n == 1 else ""),
        )
    response = await client.get(
        f"/api/links/{link['code']}/clicks.csv", params={"from": "2026-01-02", "to": "2026-01-03"}
    )
    assert response.status_code == 200, response.text
    assert response.text.splitlines() == [
        "clicked_at,referrer_host,agent_family,is_bot,country",
        "2026-01-02T12:00:00+00:00,news.example,Firefox,true,DE",
        "2026-01-03T12:00:00+00:00,news.example,Firefox,false,",
    ]
    assert "secret-hash" not in response.text
    assert (await client.get("/api/links/nOsUcH/clicks.csv")).status_code == 404


async def test_an_import_whose_worker_died_is_enqueued_again_and_finished(
    unlimited: httpx.AsyncClient, queue: Queue, app_db: psycopg.Connection
) -> None:
    started = await start(unlimited, csv_file(1200))
    queue.empty()  # the RQ job is lost with its worker; the row says it was running
    app_db.execute(
        "UPDATE background_jobs SET state = 'running', progressed_at = now() WHERE id = %s",
        (started["id"],),
    )
    assert worker_imports.resume_imports() == []  # alive a moment ago: left alone
    app_db.execute(
        "UPDATE background_jobs SET progressed_at = now() - interval '61 seconds' WHERE id = %s",
        (started["id"],),
    )
    assert worker_imports.resume_imports() == [started["id"]]
    assert worker_imports.resume_imports() == []  # claimed: not enqueued twice
    done = await finished(unlimited, queue, started)
    assert (done["processed"], done["created"]) == (1200, 1200)
