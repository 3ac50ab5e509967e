"""HTTP routes of the tags: /api/tags. Every route sees only the key's own links' tags.

A tag is not a thing of its own: it exists while one of the key's links has it. Renaming
or deleting one changes those links (each change in their history, tags/store.py); a
tag's stats are the sums of its links' (stats/sums.py). Tags are not part of a cached
redirect (links/target.py), so no change here needs the cache.
"""

from fastapi import APIRouter, Depends, Response

from shortener.dependencies import BackendsDep, require_json
from shortener.keys.auth import AUTH_ERRORS, LinksRead, LinksWrite, StatsRead
from shortener.problems import Problem, problem_doc
from shortener.stats.models import TagStats
from shortener.stats.sums import RANGE_ERRORS, FromDay, ToDay, click_stats, stats_range
from shortener.tags import store
from shortener.tags.models import Tag, TagList, TagRename
from shortener.tags.names import InvalidTag, normalise_tag

router = APIRouter(prefix="/api/tags", tags=["tags"])

NOT_FOUND = {404: problem_doc("None of this key's links has the tag")}
INVALID = {422: problem_doc("Invalid fields, each named in `errors`")}
BODY_ERRORS = {
    400: problem_doc("The body cannot be decoded"),
    415: problem_doc("The body is not `application/json`"),
}


def tag_not_found(tag: str) -> Problem:
    return Problem(404, "tag-not-found", f"None of your links has the tag {tag!r}.")


def path_tag(tag: str) -> str:
    """The tag in the path, as stored; one no link can have is simply not found."""
    try:
        return normalise_tag(tag)
    except InvalidTag:
        raise tag_not_found(tag) from None


def present(summary: store.TagSummary) -> Tag:
    return Tag(
        tag=summary.tag,
        links=summary.links,
        clicks=summary.clicks,
        humans=summary.clicks - summary.bot_clicks,
    )


@router.get("", summary="Your tags, with their links and clicks", responses={**AUTH_ERRORS})
async def list_tags(owner: LinksRead, backends: BackendsDep) -> TagList:
    async with backends.database.connection() as conn:
        return TagList(items=[present(s) for s in await store.summaries(conn, owner)])


@router.patch(
    "/{tag}",
    summary="Rename a tag on all your links (into an existing tag: merged)",
    dependencies=[Depends(require_json)],
    responses={**AUTH_ERRORS, **NOT_FOUND, **BODY_ERRORS, **INVALID},
)
async def rename_tag(tag: str, body: TagRename, owner: LinksWrite, backends: BackendsDep) -> Tag:
    old = path_tag(tag)
    async with backends.database.connection() as conn, conn.transaction():
        if old != body.name and not await store.rename(conn, owner, old, body.name):
            raise tag_not_found(tag)
        renamed = await store.summary(conn, owner, body.name)
    if renamed is None:
        raise tag_not_found(tag)
    return present(renamed)


@router.delete(
    "/{tag}",
    status_code=204,
    summary="Remove a tag from all your links (the links stay)",
    responses={**AUTH_ERRORS, **NOT_FOUND},
)
async def delete_tag(tag: str, owner: LinksWrite, backends: BackendsDep) -> Response:
    name = path_tag(tag)
    async with backends.database.connection() as conn, conn.transaction():
        if not await store.remove(conn, owner, name):
            raise tag_not_found(tag)
    return Response(status_code=204)


@router.get(
    "/{tag}/stats",
    summary="A tag's clicks: its links' stats summed (the shape of a link's stats)",
    response_model_by_alias=True,
    responses={**AUTH_ERRORS, **NOT_FOUND, **RANGE_ERRORS},
)
async def tag_stats(
    tag: str, owner: StatsRead, backends: BackendsDep, first: FromDay = None, last: ToDay = None
) -> TagStats:
    first, last = stats_range(first, last)
    name = path_tag(tag)
    async with backends.database.connection() as conn:
        link_ids = await store.tagged_link_ids(conn, owner, name)
        if not link_ids:
            raise tag_not_found(tag)
        sums = await click_stats(conn, link_ids, first, last)
    return TagStats(tag=name, links=len(link_ids), **sums)
