"""GET /api/links/{code}/stats: a link's clicks, per day, by referrer and by country."""

from fastapi import APIRouter

from shortener.dependencies import BackendsDep
from shortener.keys.auth import AUTH_ERRORS, StatsRead
from shortener.links.manage import read_link
from shortener.problems import problem_doc
from shortener.stats.models import LinkStats
from shortener.stats.sums import RANGE_ERRORS, FromDay, ToDay, click_stats, stats_range

router = APIRouter(prefix="/api/links", tags=["stats"])


@router.get(
    "/{code}/stats",
    summary=(
        "A link's clicks: totals, per day (zero-filled), humans vs bots, visitors per day,"
        " top referrers and countries"
    ),
    response_model_by_alias=True,
    responses={**AUTH_ERRORS, 404: problem_doc("No such link for this key"), **RANGE_ERRORS},
)
async def link_stats(
    code: str, owner: StatsRead, backends: BackendsDep, first: FromDay = None, last: ToDay = None
) -> LinkStats:
    first, last = stats_range(first, last)
    link = await read_link(backends, owner, code)
    async with backends.database.connection() as conn:
        return LinkStats(code=link.code, **await click_stats(conn, [link.id], first, last))
