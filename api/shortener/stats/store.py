"""SQL over the analytics tables (api/migrations/0003_clicks.sql,
*_visitors_countries.sql), read-only.

Each function sums over a set of links: one link's stats, or a tag's (its links'). Visitors
are summed too: unique per link and day, not across links (docs/clicks.md).
"""

from datetime import date

from psycopg import AsyncConnection, sql

TOP_REFERRERS = 10
TOP_COUNTRIES = 10
TOP_COUNTRIES_PER_DAY = 3


async def all_time(conn: AsyncConnection, link_ids: list[int]) -> tuple[int, int, int]:
    """(clicks, bot clicks, visitors)."""
    cursor = await conn.execute(
        "SELECT coalesce(sum(clicks), 0)::bigint, coalesce(sum(bot_clicks), 0)::bigint, "
        "coalesce(sum(visitors), 0)::bigint "
        "FROM click_totals WHERE link_id = ANY(%s)",
        (link_ids,),
    )
    row = await cursor.fetchone()
    return (row[0], row[1], row[2]) if row else (0, 0, 0)


async def daily(
    conn: AsyncConnection, link_ids: list[int], first: date, last: date
) -> list[tuple[date, int, int, int]]:
    """(day, clicks, bot clicks, visitors) for every day from first to last, zero-filled."""
    cursor = await conn.execute(
        """
        SELECT d.day::date, coalesce(sum(c.clicks), 0)::bigint,
               coalesce(sum(c.bot_clicks), 0)::bigint, coalesce(sum(c.visitors), 0)::bigint
        FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS d(day)
        LEFT JOIN click_days c ON c.link_id = ANY(%(links)s) AND c.day = d.day::date
        GROUP BY d.day
        ORDER BY d.day
        """,
        {"first": first, "last": last, "links": link_ids},
    )
    return await cursor.fetchall()


async def _top(
    conn: AsyncConnection,
    table: str,
    column: str,
    link_ids: list[int],
    first: date,
    last: date,
    limit: int,
) -> list[tuple[str, int]]:
    """The `column` values of a rollup `table` with the most clicks in the range."""
    cursor = await conn.execute(
        sql.SQL(
            """
            SELECT {column}, sum(clicks)::bigint AS clicks
            FROM {table}
            WHERE link_id = ANY(%s) AND day BETWEEN %s AND %s
            GROUP BY {column}
            ORDER BY clicks DESC, {column}
            LIMIT %s
            """
        ).format(table=sql.Identifier(table), column=sql.Identifier(column)),
        (link_ids, first, last, limit),
    )
    return await cursor.fetchall()


async def top_referrers(
    conn: AsyncConnection, link_ids: list[int], first: date, last: date
) -> list[tuple[str, int]]:
    return await _top(
        conn, "click_referrers", "referrer_host", link_ids, first, last, TOP_REFERRERS
    )


async def top_countries(
    conn: AsyncConnection, link_ids: list[int], first: date, last: date
) -> list[tuple[str, int]]:
    return await _top(conn, "click_countries", "country", link_ids, first, last, TOP_COUNTRIES)


async def top_countries_per_day(
    conn: AsyncConnection, link_ids: list[int], first: date, last: date
) -> list[tuple[date, str, int]]:
    """(day, country, clicks): each day's first few countries, most clicks first."""
    cursor = await conn.execute(
        """
        SELECT day, country, clicks
        FROM (
            SELECT day, country, sum(clicks)::bigint AS clicks,
                   row_number() OVER (
                       PARTITION BY day ORDER BY sum(clicks) DESC, country
                   ) AS place
            FROM click_countries
            WHERE link_id = ANY(%s) AND day BETWEEN %s AND %s
            GROUP BY day, country
        ) AS ranked
        WHERE place <= %s
        ORDER BY day, place
        """,
        (link_ids, first, last, TOP_COUNTRIES_PER_DAY),
    )
    return await cursor.fetchall()
