"""Clicks summed over a set of links in a range of UTC days: one link's stats
(stats/routes.py) or a tag's (tags/routes.py), one shape for both."""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Query
from psycopg import AsyncConnection

from shortener.problems import invalid_field, problem_doc
from shortener.stats import store
from shortener.stats.models import Country, Counts, Day, Referrer
from shortener.timestamps import IsoDate

DEFAULT_DAYS = 30
MAX_DAYS = 366


def stats_range(first: date | None, last: date | None) -> tuple[date, date]:
    """The requested UTC days; by default the last 30 days up to today."""
    last = last or datetime.now(UTC).date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise invalid_field("from", "must not be after `to`")
    if (last - first).days + 1 > MAX_DAYS:
        raise invalid_field("from", f"the range may span at most {MAX_DAYS} days")
    return first, last


def counts(clicks: int, bots: int, visitors: int) -> Counts:
    return Counts(clicks=clicks, humans=clicks - bots, bots=bots, visitors=visitors)


# The range parameters of every stats route.
FromDay = Annotated[
    IsoDate | None,
    Query(alias="from", description="First UTC day, YYYY-MM-DD (default: 29 days ago)."),
]
ToDay = Annotated[
    IsoDate | None, Query(alias="to", description="Last UTC day, YYYY-MM-DD (default: today).")
]
RANGE_ERRORS = {422: problem_doc("Invalid range")}


async def click_stats(
    conn: AsyncConnection, link_ids: list[int], first: date, last: date
) -> dict[str, Any]:
    """The fields of ClickStats, summed over `link_ids`."""
    all_time = await store.all_time(conn, link_ids)
    days = await store.daily(conn, link_ids, first, last)
    referrers = await store.top_referrers(conn, link_ids, first, last)
    countries = await store.top_countries(conn, link_ids, first, last)
    countries_by_day: dict[date, list[Country]] = {}
    for day, country, clicks in await store.top_countries_per_day(conn, link_ids, first, last):
        countries_by_day.setdefault(day, []).append(Country(country=country, clicks=clicks))
    return {
        "from_": first,
        "to": last,
        "all_time": counts(*all_time),
        "in_range": counts(*(sum(d[column] for d in days) for column in (1, 2, 3))),
        "days": [
            Day(
                day=day,
                clicks=clicks,
                bots=bots,
                visitors=visitors,
                top_countries=countries_by_day.get(day, []),
            )
            for day, clicks, bots, visitors in days
        ],
        "top_referrers": [Referrer(host=host, clicks=clicks) for host, clicks in referrers],
        "top_countries": [Country(country=code, clicks=clicks) for code, clicks in countries],
    }
