"""GET /api/links/{code}/stats over the analytics tables, as the worker fills them."""

from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


async def make_link(client: httpx.AsyncClient) -> tuple[str, int]:
    body = (await client.post("/api/links", json={"url": "https://example.org/"})).json()
    return body["code"], body


def seed(owner_db: psycopg.Connection, code: str, day: date) -> None:
    """What the worker writes after ingesting: totals, one day, two referrers."""
    (link_id,) = owner_db.execute("SELECT id FROM links WHERE code = %s", (code,)).fetchone()
    owner_db.execute(
        "INSERT INTO click_totals (link_id, clicks, bot_clicks) VALUES (%s, 12, 2)", (link_id,)
    )
    owner_db.execute(
        "INSERT INTO click_days (link_id, day, clicks, bot_clicks) VALUES (%s, %s, 7, 1),"
        " (%s, %s, 5, 1)",
        (link_id, day, link_id, day - timedelta(days=40)),
    )
    owner_db.execute(
        "INSERT INTO click_referrers (link_id, day, referrer_host, clicks) VALUES"
        " (%s, %s, 'news.example', 4), (%s, %s, '', 3)",
        (link_id, day, link_id, day),
    )


async def test_stats_report_totals_days_and_referrers(
    client: httpx.AsyncClient, owner_db: psycopg.Connection
) -> None:
    code, _ = await make_link(client)
    today = datetime.now(UTC).date()
    seed(owner_db, code, today - timedelta(days=2))

    stats = (await client.get(f"/api/links/{code}/stats")).json()

    assert stats["code"] == code
    assert stats["to"] == today.isoformat()
    assert stats["from"] == (today - timedelta(days=29)).isoformat()
    assert stats["all_time"] == {"clicks": 12, "humans": 10, "bots": 2, "visitors": 0}
    # The day 40 days back is outside the default 30-day range.
    assert stats["in_range"] == {"clicks": 7, "humans": 6, "bots": 1, "visitors": 0}
    assert len(stats["days"]) == 30
    assert stats["days"][-3] == {
        "day": (today - timedelta(days=2)).isoformat(),
        "clicks": 7,
        "bots": 1,
        "visitors": 0,
        "top_countries": [],
    }
    assert sum(day["clicks"] for day in stats["days"]) == 7
    assert stats["top_referrers"] == [
        {"host": "news.example", "clicks": 4},
        {"host": "", "clicks": 3},
    ]
    # The link object's visits come from the same totals: 12 clicks, 2 of them bots',
    # and a link's visits are people's (docs/api.md "Visits").
    assert (await client.get(f"/api/links/{code}")).json()["visits"] == 10


async def test_stats_range_is_selectable_and_validated(
    client: httpx.AsyncClient, owner_db: psycopg.Connection
) -> None:
    code, _ = await make_link(client)
    today = datetime.now(UTC).date()
    seed(owner_db, code, today)
    first = today - timedelta(days=45)
    stats = (
        await client.get(
            f"/api/links/{code}/stats", params={"from": first.isoformat(), "to": today.isoformat()}
        )
    ).json()
    assert len(stats["days"]) == 46
    assert stats["in_range"]["clicks"] == 12

    backwards = await client.get(
        f"/api/links/{code}/stats", params={"from": today.isoformat(), "to": first.isoformat()}
    )
    assert backwards.status_code == 422
    assert [e["field"] for e in backwards.json()["errors"]] == ["from"]
    too_long = await client.get(f"/api/links/{code}/stats", params={"from": "2000-01-01"})
    assert too_long.status_code == 422
    not_a_date = await client.get(f"/api/links/{code}/stats", params={"to": "yesterday"})
    assert [e["field"] for e in not_a_date.json()["errors"]] == ["to"]
    # pydantic's lax mode took `0` as 1970-01-01 and a date-time as its day: only
    # YYYY-MM-DD is a day here (the others: tests/unit/test_http_errors.py).
    for name, value in (("to", "0"), ("from", "0"), ("to", f"{today.isoformat()}T00:00:00Z")):
        lax = await client.get(f"/api/links/{code}/stats", params={name: value})
        assert lax.status_code == 422
        assert lax.headers["content-type"] == "application/problem+json"
        assert lax.json()["errors"] == [{"field": name, "message": "must be a date as YYYY-MM-DD"}]


async def test_stats_are_owner_scoped(client: httpx.AsyncClient, postgres) -> None:  # type: ignore[no-untyped-def]
    from shortener.keys.store import create_key
    from tests.integration.containers import APP

    code, _ = await make_link(client)
    with postgres.connect(APP) as conn:
        _, other = create_key(conn, "other")
    response = await client.get(
        f"/api/links/{code}/stats", headers={"Authorization": f"Bearer {other}"}
    )
    assert response.status_code == 404
    assert (await client.get("/api/links/NoSuchCode/stats")).status_code == 404
