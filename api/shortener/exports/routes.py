"""GET /api/links/export (the key's links) and GET /api/links/{code}/clicks.csv (a link's
raw clicks): files streamed from a server-side cursor (exports/stream.py).

The links' columns are those POST /api/imports reads, so an export imports as it is;
`code` and `visits` are there for the reader (an import ignores them). A protected
link's password is never exported (its hash neither): it imports unprotected.

clicks.csv needs stats:read, as the stats do: it is the same data, before summing. It
has what the worker keeps of a click (docs/clicks.md): no address, no visitor hash.
"""

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from psycopg import sql

from shortener.dependencies import BackendsDep, SettingsDep
from shortener.exports.stream import csv_encoder, jsonl_encoder, stream_rows
from shortener.keys.auth import AUTH_ERRORS, LinksRead, StatsRead
from shortener.links.manage import filter_tags, read_link
from shortener.problems import invalid_field, problem_doc
from shortener.stats.sums import FromDay, ToDay

router = APIRouter(prefix="/api/links", tags=["exports"])

LINK_FIELDS = ("url", "alias", "expires_at", "max_visits", "tags", "created_at", "code", "visits")
LINKS = sql.SQL(
    """
    SELECT url, CASE WHEN is_alias THEN code END, expires_at, max_visits, tags, created_at,
           code,
           coalesce((SELECT t.clicks - t.bot_clicks FROM click_totals t
                     WHERE t.link_id = links.id), 0)
    FROM links
    WHERE owner_id = %(owner)s AND (%(tag)s::text IS NULL OR tags @> ARRAY[%(tag)s::text])
    ORDER BY id
    """
)
CLICK_FIELDS = ("clicked_at", "referrer_host", "agent_family", "is_bot", "country")
CLICKS = sql.SQL(
    """
    SELECT clicked_at, referrer_host, agent_family, is_bot, country FROM clicks
    WHERE link_id = %(link)s
      AND (%(since)s::timestamptz IS NULL OR clicked_at >= %(since)s)
      AND (%(until)s::timestamptz IS NULL OR clicked_at < %(until)s)
    ORDER BY clicked_at, stream_id
    """
)
# nginx passes the stream on as it comes (its location for these says so too).
STREAM_HEADERS = {"X-Accel-Buffering": "no", "Cache-Control": "no-store"}
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def _attachment(name: str) -> dict[str, str]:
    return {**STREAM_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}


@router.get(
    "/export",
    summary="Download your links as CSV or JSON Lines (streamed)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}, "application/x-ndjson": {}}},
        **AUTH_ERRORS,
        422: problem_doc("Invalid format or tag"),
    },
)
async def export_links(
    owner: LinksRead,
    backends: BackendsDep,
    settings: SettingsDep,
    format: Annotated[Literal["csv", "jsonl"], Query(description="The file's format.")] = "csv",
    tag: Annotated[
        str | None, Query(max_length=100, description="Only links with this tag.")
    ] = None,
) -> StreamingResponse:
    tags = filter_tags([tag] if tag is not None else None)
    first, encode = (csv_encoder if format == "csv" else jsonl_encoder)(LINK_FIELDS)
    params = {"owner": owner, "tag": tags[0] if tags else None}
    return StreamingResponse(
        stream_rows(backends, LINKS, params, first, encode),
        media_type=MEDIA_TYPES[format],
        headers=_attachment(f"links.{format}"),
    )


@router.get(
    "/{code}/clicks.csv",
    summary="A link's raw clicks as CSV (those the retention keeps; streamed)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}},
        **AUTH_ERRORS,
        404: problem_doc("No such link for this key"),
        422: problem_doc("Invalid range"),
    },
)
async def export_clicks(
    code: str, owner: StatsRead, backends: BackendsDep, first: FromDay = None, last: ToDay = None
) -> StreamingResponse:
    if first and last and first > last:
        raise invalid_field("from", "must not be after `to`")
    link = await read_link(backends, owner, code)
    since = datetime.combine(first, time(), UTC) if first else None
    until = datetime.combine(last, time(), UTC) + timedelta(days=1) if last else None
    header, encode = csv_encoder(CLICK_FIELDS)
    return StreamingResponse(
        stream_rows(
            backends, CLICKS, {"link": link.id, "since": since, "until": until}, header, encode
        ),
        media_type=MEDIA_TYPES["csv"],
        headers=_attachment(f"{link.code}-clicks.csv"),
    )
