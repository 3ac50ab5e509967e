"""SQL over the analytics tables (api/migrations/0003_clicks.sql), read-only."""

from datetime import date

from psycopg import AsyncConnection

TOP_REFERRERS = 10


async def all_time(conn: AsyncConnection, link_id: int) -> tuple[int, int]:
    cursor = await conn.execute(
        "SELECT clicks, bot_clicks FROM click_totals WHERE link_id = %s", (link_id,)
    )
    row = await cursor.fetchone()
    return (row[0], row[1]) if row else (0, 0)


async def daily(
    conn: AsyncConnection, link_id: int, first: date, last: date
) -> list[tuple[date, int, int]]:
    """(day, clicks, bot clicks) for every day from first to last, zero-filled."""
    cursor = await conn.execute(
        """
        SELECT d.day::date, coalesce(c.clicks, 0), coalesce(c.bot_clicks, 0)
        FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS d(day)
        LEFT JOIN click_days c ON c.link_id = %(link)s AND c.day = d.day::date
        ORDER BY d.day
        """,
        {"first": first, "last": last, "link": link_id},
    )
    return await cursor.fetchall()


async def top_referrers(
    conn: AsyncConnection, link_id: int, first: date, last: date
) -> list[tuple[str, int]]:
    cursor = await conn.execute(
        """
        SELECT referrer_host, sum(clicks)::bigint AS clicks
        FROM click_referrers
        WHERE link_id = %s AND day BETWEEN %s AND %s
        GROUP BY referrer_host
        ORDER BY clicks DESC, referrer_host
        LIMIT %s
        """,
        (link_id, first, last, TOP_REFERRERS),
    )
    return await cursor.fetchall()
