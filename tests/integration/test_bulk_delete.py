"""POST /api/links/bulk-delete: in the request up to 1000 links, else a background job the
worker runs in chunks (api links/bulk_delete.py, worker shortener_worker/bulk_delete.py)."""

import asyncio
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
import psycopg
import pytest
from rq import Queue

from shortener.links import local_cache
from shortener.settings import Settings
from shortener_worker import bulk_delete as worker_bulk_delete
from shortener_worker.jobs import JOBS
from tests.integration.conftest import ServeApi
from tests.integration.containers import closed_port
from tests.integration.rq_jobs import work_off
from tests.integration.test_tags import new_key

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

URL = "https://example.org/"


async def make_links(client: httpx.AsyncClient, count: int, tags: list[str]) -> list[str]:
    codes: list[str] = []
    for start in range(0, count, 1000):
        size = min(1000, count - start)
        batch = await client.post(
            "/api/links/batch", json={"links": [{"url": URL, "tags": tags}] * size}
        )
        assert batch.json()["failed"] == 0, batch.text
        codes += [r["link"]["code"] for r in batch.json()["results"]]
    return codes


def remaining(db: psycopg.Connection, codes: list[str]) -> int:
    return db.execute("SELECT count(*) FROM links WHERE code = ANY(%s)", (codes,)).fetchone()[0]


def deleted_events(db: psycopg.Connection, codes: list[str]) -> int:
    return db.execute(
        "SELECT count(*) FROM link_events WHERE kind = 'link.deleted' AND code = ANY(%s)",
        (codes,),
    ).fetchone()[0]


async def test_a_small_selection_is_deleted_in_the_request_with_its_history(
    client: httpx.AsyncClient, app_db: psycopg.Connection
) -> None:
    tagged = await make_links(client, 5, ["old"])
    listed = await make_links(client, 3, ["keep"])
    kept = await make_links(client, 2, ["keep"])

    by_tag = await client.post("/api/links/bulk-delete", json={"tag": " OLD "})
    assert by_tag.status_code == 200 and by_tag.json() == {"deleted": 5}
    by_codes = await client.post("/api/links/bulk-delete", json={"codes": [*listed, "noSuchCode"]})
    assert by_codes.status_code == 200 and by_codes.json() == {"deleted": 3}

    assert remaining(app_db, tagged + listed) == 0
    assert remaining(app_db, kept) == 2
    assert deleted_events(app_db, tagged + listed) == 8
    for code in tagged + listed:
        assert (await client.get(f"/{code}")).status_code == 404
    nothing = await client.post("/api/links/bulk-delete", json={"tag": "old"})
    assert nothing.json() == {"deleted": 0}
    neither = await client.post("/api/links/bulk-delete", json={})
    assert neither.status_code == 422


async def test_without_redis_nothing_is_deleted_and_the_answer_is_503(
    client: httpx.AsyncClient,
    serve_api: ServeApi,
    make_api_settings: Callable[..., Settings],
    app_db: psycopg.Connection,
) -> None:
    small = await make_links(client, 10, ["small"])
    large = await make_links(client, 1001, ["large"])
    settings = make_api_settings(redis_host="127.0.0.1", redis_port=closed_port())
    async with serve_api(settings) as degraded:
        for body in ({"tag": "small"}, {"codes": small}, {"tag": "large"}):
            response = await degraded.post("/api/links/bulk-delete", json=body)
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
    assert remaining(app_db, small + large) == len(small) + len(large)
    assert deleted_events(app_db, small + large) == 0
    # The job that could not be queued is not left behind as one that never runs.
    assert app_db.execute("SELECT count(*) FROM background_jobs").fetchone()[0] == 0


async def job_of(client: httpx.AsyncClient, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    job = (await client.get(response.headers["location"])).json()
    assert job == response.json()
    return job


async def until_404(replica: httpx.AsyncClient, code: str, seconds: float = 2.0) -> None:
    """Wait for `replica` to have heard the last announcement (its listener is a task)."""
    deadline = time.monotonic() + seconds
    while (await replica.get(f"/{code}")).status_code != 404:
        assert time.monotonic() < deadline, f"{code} still answered after {seconds} s"
        await asyncio.sleep(0.01)


async def test_5000_links_by_tag_answer_404_on_every_replica_after_the_job(
    serve_api: ServeApi,
    api_settings: Settings,
    queue: Queue,
    app_db: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each replica's own copies never expire here: only the job's announcements on
    # links:changed can drop them, and only its deletes of the link:{code} keys the
    # shared copies. Either one missing leaves 302s below.
    monkeypatch.setattr(local_cache, "time", SimpleNamespace(monotonic=lambda: 1000.0))
    async with serve_api(api_settings) as first, serve_api(api_settings) as second:
        codes = await make_links(first, 5000, ["campaign"])
        kept = await make_links(first, 3, ["other"])
        for replica in (first, second):  # every link cached on both replicas
            for code in codes:
                assert (await replica.get(f"/{code}")).status_code == 302

        started = await first.post("/api/links/bulk-delete", json={"tag": "campaign"})
        job = await job_of(first, started)
        assert (job["kind"], job["state"], job["total"], job["processed"]) == (
            "bulk-delete",
            "queued",
            5000,
            0,
        )
        work_off(queue)

        done = (await second.get(f"/api/jobs/{job['id']}")).json()
        assert (done["state"], done["total"], done["processed"], done["errors"]) == (
            "done",
            5000,
            5000,
            [],
        )
        assert done["started_at"] and done["finished_at"]
        for replica in (first, second):
            await until_404(replica, codes[-1])  # the last chunk's announcement was heard
            for code in codes:
                assert (await replica.get(f"/{code}")).status_code == 404, code
            for code in kept:
                assert (await replica.get(f"/{code}")).status_code == 302
        assert deleted_events(app_db, codes) == 5000


async def test_a_failed_job_run_again_deletes_what_is_left_once(
    client: httpx.AsyncClient,
    queue: Queue,
    app_db: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes = await make_links(client, 1200, ["batch"])
    job = await job_of(client, await client.post("/api/links/bulk-delete", json={"codes": codes}))
    later = await make_links(client, 1, ["batch"])  # not in the job's selection

    # Redis goes away after the first chunk: the second chunk deletes nothing.
    real_drop = worker_bulk_delete.drop_cached
    calls = 0

    def drop_then_fail(cache: Any, chunk: list[str]) -> None:
        nonlocal calls
        calls += 1
        if calls > 2:  # before and after the first chunk, then no more
            raise ConnectionError("Redis went away")
        real_drop(cache, chunk)

    monkeypatch.setattr(worker_bulk_delete, "drop_cached", drop_then_fail)
    work_off(queue)
    failed = (await client.get(f"/api/jobs/{job['id']}")).json()
    assert failed["state"] == "failed"
    assert failed["processed"] == worker_bulk_delete.CHUNK
    assert "Redis went away" in failed["errors"][0]["message"]
    assert remaining(app_db, codes) == 1200 - worker_bulk_delete.CHUNK

    monkeypatch.setattr(worker_bulk_delete, "drop_cached", real_drop)
    for _ in range(2):  # run again, and once more when there is nothing left
        queue.enqueue(JOBS["bulk-delete"], job["id"])
        work_off(queue)
        done = (await client.get(f"/api/jobs/{job['id']}")).json()
        assert (done["state"], done["processed"], done["total"]) == ("done", 1200, 1200)
    assert remaining(app_db, codes) == 0
    assert deleted_events(app_db, codes) == 1200  # each link's delete recorded once
    assert remaining(app_db, later) == 1


async def test_a_job_is_its_owners_only(
    client: httpx.AsyncClient, queue: Queue, postgres: Any
) -> None:
    codes = await make_links(client, 1001, ["mine"])
    job = await job_of(client, await client.post("/api/links/bulk-delete", json={"tag": "mine"}))
    theirs = new_key(postgres)
    assert (await client.get(f"/api/jobs/{job['id']}", headers=theirs)).status_code == 404
    assert (await client.get("/api/jobs/999999")).status_code == 404
    assert (await client.get("/api/jobs/0")).status_code == 422
    work_off(queue)
    assert len(codes) == (await client.get(f"/api/jobs/{job['id']}")).json()["processed"]


async def test_finished_jobs_are_pruned_with_the_history(
    client: httpx.AsyncClient, queue: Queue, app_db: psycopg.Connection
) -> None:
    await make_links(client, 1001, ["old"])
    old = await job_of(client, await client.post("/api/links/bulk-delete", json={"tag": "old"}))
    work_off(queue)
    await make_links(client, 1001, ["new"])
    waiting = await job_of(client, await client.post("/api/links/bulk-delete", json={"tag": "new"}))
    app_db.execute("UPDATE background_jobs SET finished_at = now() - interval '91 days'")
    app_db.execute("DELETE FROM link_events")  # only the jobs are counted below

    job = queue.enqueue(JOBS["prune-history"])
    work_off(queue)  # the waiting bulk delete first (it finishes now), then the prune
    assert job.return_value() == 1  # the job finished long ago, not the one just done
    assert (await client.get(f"/api/jobs/{old['id']}")).status_code == 404
    assert (await client.get(f"/api/jobs/{waiting['id']}")).json()["state"] == "done"
