"""Tags on links (api/shortener/tags/, links/): set, filtered, counted, renamed, deleted,
charted, always within one key."""

from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rq import Queue

from shortener.keys.store import create_key
from shortener_worker.jobs import JOBS
from tests.integration.containers import APP, Postgres
from tests.integration.rq_jobs import work_off

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

URL = "https://example.org/"


def new_key(postgres: Postgres) -> dict[str, str]:
    """Headers for another, fresh key."""
    with postgres.connect(APP) as conn:
        _, key = create_key(conn, "another key")
    return {"Authorization": f"Bearer {key}"}


async def create(client: httpx.AsyncClient, tags: list[str], **headers: str) -> dict[str, Any]:
    response = await client.post("/api/links", json={"url": URL, "tags": tags}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def walk(
    client: httpx.AsyncClient, params: dict[str, Any], headers: dict[str, str] | None = None
) -> list[str]:
    """Every code of a listing, page after page."""
    codes: list[str] = []
    cursor = None
    while True:
        page_params = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/links", params=page_params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        codes += [item["code"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return codes


async def test_tags_are_set_on_create_batch_and_patch_and_kept_in_the_history(
    client: httpx.AsyncClient,
) -> None:
    link = await create(client, [" Spring Sale", "b", "B", "a"])
    assert link["tags"] == ["a", "b", "spring-sale"]
    code = link["code"]

    batch = await client.post(
        "/api/links/batch",
        json={"links": [{"url": URL, "tags": ["X y"]}, {"url": URL, "tags": ["bad/tag"]}]},
    )
    results = batch.json()["results"]
    assert results[0]["link"]["tags"] == ["x-y"]
    assert results[1]["status"] == 422
    assert results[1]["problem"]["errors"][0]["field"] == "tags"

    replaced = await client.patch(f"/api/links/{code}", json={"tags": ["c", "a"]})
    assert replaced.json()["tags"] == ["a", "c"]
    cleared = await client.patch(f"/api/links/{code}", json={"tags": None})
    assert cleared.json()["tags"] == []
    assert (await client.get(f"/api/links/{code}")).json()["tags"] == []

    history = (await client.get(f"/api/links/{code}/history")).json()["items"]
    assert [e["changes"].get("tags") for e in history] == [
        {"old": ["a", "c"], "new": []},
        {"old": ["a", "b", "spring-sale"], "new": ["a", "c"]},
        {"old": [], "new": ["a", "b", "spring-sale"]},
    ]


async def test_an_invalid_tag_is_a_problem_naming_the_field(client: httpx.AsyncClient) -> None:
    for body in (
        {"url": URL, "tags": ["ok", "no spaces? no"]},
        {"url": URL, "tags": [f"t{i}" for i in range(11)]},
        {"url": URL, "tags": ["x" * 33]},
    ):
        response = await client.post("/api/links", json=body)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert {e["field"] for e in response.json()["errors"]} == {"tags"}
    bad_filter = await client.get("/api/links", params={"tag": "a/b"})
    assert bad_filter.status_code == 422
    assert bad_filter.json()["errors"][0]["field"] == "tag"


async def test_pages_under_a_filter_have_no_duplicates_or_gaps_while_links_are_made(
    client: httpx.AsyncClient,
) -> None:
    wanted = [(await create(client, ["keep"] if i % 3 else ["other"]))["code"] for i in range(40)]
    expected = [code for i, code in enumerate(wanted) if i % 3][::-1]  # newest first
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"tag": "keep", "limit": 4}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get("/api/links", params=params)).json()
        seen += [item["code"] for item in body["items"]]
        assert all("keep" in item["tags"] for item in body["items"])
        await create(client, ["keep"])  # newer than every page: never in this walk
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected


async def test_the_filter_combines_with_the_text_search(client: httpx.AsyncClient) -> None:
    hit = await client.post("/api/links", json={"url": "https://shop.example/x", "tags": ["a"]})
    await client.post("/api/links", json={"url": "https://blog.example/x", "tags": ["a"]})
    await client.post("/api/links", json={"url": "https://shop.example/y", "tags": ["b"]})
    assert await walk(client, {"tag": "a", "q": "shop"}) == [hit.json()["code"]]


VOCABULARY = ["a", "b", "c", "d", "e"]
tag_sets = st.lists(st.sets(st.sampled_from(VOCABULARY), max_size=4), min_size=1, max_size=25)
queries = st.tuples(
    st.sets(st.sampled_from(VOCABULARY), min_size=1, max_size=3),
    st.sampled_from(["all", "any"]),
    st.integers(min_value=1, max_value=7),
)


async def test_any_and_all_are_the_set_computation(
    client: httpx.AsyncClient, postgres: Postgres
) -> None:
    """Random links' tag sets and random filters (hypothesis): the API's pages, walked to
    the end, hold exactly the links Python's set operations select, newest first."""

    async def check(links: list[set[str]], query: tuple[set[str], str, int]) -> None:
        headers = new_key(postgres)  # each example its own key: its own links only
        made = await client.post(
            "/api/links/batch",
            json={"links": [{"url": URL, "tags": sorted(tags)} for tags in links]},
            headers=headers,
        )
        codes = [r["link"]["code"] for r in made.json()["results"]]
        wanted, match, limit = query
        select = wanted.issubset if match == "all" else (lambda tags: bool(wanted & tags))
        expected = [code for code, tags in zip(codes, links, strict=True) if select(tags)][::-1]
        params = {"tag": sorted(wanted), "match": match, "limit": limit}
        assert await walk(client, params, headers) == expected

    run = anyio.from_thread.run
    examples = []

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(tag_sets, queries)
    def property_holds(links: list[set[str]], query: tuple[set[str], str, int]) -> None:
        examples.append(query)
        run(check, links, query)

    # Hypothesis in a thread, each example's API calls back on this event loop.
    await anyio.to_thread.run_sync(property_holds)
    assert len(examples) >= 20  # the property was really tried, not skipped


async def test_tags_list_their_links_and_clicks_and_stats_sum_their_links(
    client: httpx.AsyncClient, queue: Queue
) -> None:
    first = await create(client, ["promo", "x"])
    second = await create(client, ["promo"])
    other = await create(client, ["x"])
    for link, visits in ((first, 3), (second, 2), (other, 4)):
        for _ in range(visits):
            redirect = await client.get(
                f"/{link['code']}",
                headers={
                    "User-Agent": "Mozilla/5.0 Firefox/130.0",
                    "Referer": "https://news.example/",
                },
            )
            assert redirect.status_code == 302
    await client.get(f"/{first['code']}", headers={"User-Agent": "Googlebot/2.1"})
    job = queue.enqueue(JOBS["ingest-clicks"])
    work_off(queue)
    assert job.latest_result().type.name == "SUCCESSFUL"

    tags = {t["tag"]: t for t in (await client.get("/api/tags")).json()["items"]}
    assert list(tags) == ["promo", "x"]
    assert tags["promo"] == {"tag": "promo", "links": 2, "clicks": 6, "humans": 5}
    assert tags["x"] == {"tag": "x", "links": 2, "clicks": 8, "humans": 7}

    summed = (await client.get("/api/tags/promo/stats")).json()
    parts = [
        (await client.get(f"/api/links/{link['code']}/stats")).json() for link in (first, second)
    ]
    assert summed["tag"] == "promo" and summed["links"] == 2
    for field in ("all_time", "in_range"):
        for count in ("clicks", "humans", "bots", "visitors"):
            assert summed[field][count] == sum(part[field][count] for part in parts)
    # One person (one address and agent) on both links: a visitor of each, two for the
    # tag (visitors are unique per link and day, then summed: docs/clicks.md).
    assert [part["in_range"]["visitors"] for part in parts] == [1, 1]
    assert summed["in_range"]["visitors"] == 2
    assert [d["clicks"] for d in summed["days"]] == [
        sum(days) for days in zip(*([d["clicks"] for d in p["days"]] for p in parts), strict=True)
    ]
    assert summed["top_referrers"][0] == {"host": "news.example", "clicks": 5}
    assert set(summed) == set(parts[0]) - {"code"} | {"tag", "links"}
    assert (await client.get("/api/tags/nothing/stats")).status_code == 404
    bad_range = await client.get(
        "/api/tags/promo/stats", params={"from": "2030-01-02", "to": "2030-01-01"}
    )
    assert bad_range.status_code == 422


async def test_a_rename_merges_and_a_delete_keeps_the_links_both_in_the_history(
    client: httpx.AsyncClient, app_db: psycopg.Connection
) -> None:
    both = await create(client, ["old", "new", "z"])
    only_old = await create(client, ["old"])
    untouched = await create(client, ["z"])
    events_before = app_db.execute("SELECT count(*) FROM link_events").fetchone()[0]

    renamed = await client.patch("/api/tags/OLD", json={"name": " New "})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["tag"] == "new" and renamed.json()["links"] == 2
    assert (await client.get(f"/api/links/{both['code']}")).json()["tags"] == ["new", "z"]
    assert (await client.get(f"/api/links/{only_old['code']}")).json()["tags"] == ["new"]
    history = (await client.get(f"/api/links/{both['code']}/history")).json()["items"]
    assert history[0]["event"] == "link.updated"
    assert history[0]["changes"]["tags"] == {"old": ["new", "old", "z"], "new": ["new", "z"]}

    assert (await client.delete("/api/tags/z")).status_code == 204
    assert (await client.get(f"/api/links/{untouched['code']}")).json()["tags"] == []
    assert (await client.get(f"/api/links/{both['code']}")).json()["tags"] == ["new"]
    # Two links renamed, two untagged: one event each, nothing else.
    events_after = app_db.execute("SELECT count(*) FROM link_events").fetchone()[0]
    assert events_after - events_before == 4

    assert (await client.delete("/api/tags/z")).status_code == 404
    assert (await client.patch("/api/tags/gone", json={"name": "x"})).status_code == 404
    invalid = await client.patch("/api/tags/new", json={"name": "no way?"})
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "name"


async def test_another_keys_tags_are_invisible(
    client: httpx.AsyncClient, postgres: Postgres
) -> None:
    theirs = new_key(postgres)
    mine = await create(client, ["shared", "mine"])
    their_link = await create(client, ["shared", "theirs"], **theirs)

    assert await walk(client, {"tag": "shared"}) == [mine["code"]]
    assert await walk(client, {"tag": "shared"}, theirs) == [their_link["code"]]
    listed = (await client.get("/api/tags")).json()["items"]
    assert [t["tag"] for t in listed] == ["mine", "shared"]
    assert listed[1]["links"] == 1
    assert (await client.get("/api/tags/theirs/stats")).status_code == 404
    assert (await client.get("/api/tags/shared/stats")).json()["links"] == 1
    assert (await client.patch("/api/tags/theirs", json={"name": "x"})).status_code == 404
    assert (await client.delete("/api/tags/theirs")).status_code == 404
    # Renaming and deleting my tag leaves theirs alone.
    await client.patch("/api/tags/shared", json={"name": "renamed"})
    await client.delete("/api/tags/renamed")
    their_tags = (await client.get(f"/api/links/{their_link['code']}", headers=theirs)).json()
    assert their_tags["tags"] == ["shared", "theirs"]
    # A bulk delete by tag or by their codes deletes nothing of theirs.
    by_tag = await client.post("/api/links/bulk-delete", json={"tag": "theirs"})
    by_codes = await client.post("/api/links/bulk-delete", json={"codes": [their_link["code"]]})
    assert by_tag.json() == by_codes.json() == {"deleted": 0}
    assert (await client.get(f"/api/links/{their_link['code']}", headers=theirs)).status_code == 200


async def test_a_rename_reaches_the_webhooks_as_link_updated_events(
    client: httpx.AsyncClient, app_db: psycopg.Connection
) -> None:
    link = await create(client, ["old", "x"])
    owner = app_db.execute(
        "SELECT owner_id FROM links WHERE code = %s", (link["code"],)
    ).fetchone()[0]
    app_db.execute(
        "INSERT INTO webhooks (owner_id, url, events, secret)"
        " VALUES (%s, 'https://hooks.example.org/x', ARRAY['link.updated'], 'whsec_c2VjcmV0')",
        (owner,),
    )
    assert (await client.patch("/api/tags/old", json={"name": "new"})).status_code == 200
    assert (await client.delete("/api/tags/x")).status_code == 204

    payloads = [
        payload
        for (payload,) in app_db.execute(
            "SELECT payload FROM webhook_deliveries ORDER BY id"
        ).fetchall()
    ]
    assert [p["type"] for p in payloads] == ["link.updated", "link.updated"]
    assert [p["data"]["changes"] for p in payloads] == [
        {"tags": {"old": ["old", "x"], "new": ["new", "x"]}},
        {"tags": {"old": ["new", "x"], "new": ["new"]}},
    ]
    assert {p["data"]["code"] for p in payloads} == {link["code"]}
