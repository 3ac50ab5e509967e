"""HTTP routes of the link API: parse, call one function, shape the reply.

Every route needs an API key and sees only that key's links.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from shortener.dependencies import BackendsDep, SettingsDep, require_json
from shortener.jobs.models import Job, present_job
from shortener.keys.auth import AUTH_ERRORS, LinksRead, LinksWrite
from shortener.links import manage
from shortener.links.bulk_delete import Selection, bulk_delete
from shortener.links.dependencies import LinkLookupDep, TargetPolicyDep
from shortener.links.models import (
    BatchCreate,
    BatchResult,
    BulkDelete,
    BulkDeleted,
    HistoryPage,
    Link,
    LinkCreate,
    LinkEventOut,
    LinkPage,
    LinkUpdate,
)
from shortener.problems import problem_doc
from shortener.tags.names import MAX_TAGS

router = APIRouter(prefix="/api/links", tags=["links"])
JsonBody = [Depends(require_json)]

NOT_FOUND = {404: problem_doc("No such link for this key")}
INVALID = {422: problem_doc("Invalid fields, each named in `errors`")}
# Every route with a JSON body: FastAPI answers 400 for a body it cannot decode (not UTF-8).
BODY_ERRORS = {
    400: problem_doc("The body cannot be decoded"),
    415: problem_doc("The body is not `application/json`"),
}


@router.post(
    "",
    status_code=201,
    summary="Shorten a URL",
    dependencies=JsonBody,
    responses={
        200: {"description": "find_if_exists: your existing link", "model": Link},
        409: problem_doc("The alias is taken"),
        429: problem_doc("Creation quota of this key used up"),
        **AUTH_ERRORS,
        **BODY_ERRORS,
        **INVALID,
    },
)
async def create_link(
    body: LinkCreate,
    response: Response,
    owner: LinksWrite,
    backends: BackendsDep,
    links: LinkLookupDep,
    settings: SettingsDep,
    policy: TargetPolicyDep,
) -> Link:
    stored, created = await manage.create_link(backends, links, settings, policy, owner, body)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/links/{stored.code}"
    return manage.present(stored, settings)


@router.post(
    "/batch",
    summary="Shorten up to 1000 URLs in one transaction",
    dependencies=JsonBody,
    responses={
        429: problem_doc("Creation quota used up"),
        **AUTH_ERRORS,
        **BODY_ERRORS,
        **INVALID,
    },
)
async def create_links(
    body: BatchCreate,
    owner: LinksWrite,
    backends: BackendsDep,
    links: LinkLookupDep,
    settings: SettingsDep,
    policy: TargetPolicyDep,
) -> BatchResult:
    return await manage.create_links_batch(backends, links, settings, policy, owner, body.links)


@router.post(
    "/bulk-delete",
    summary="Delete your links with a tag, or a list of them",
    dependencies=JsonBody,
    responses={
        202: {"description": "More than 1000 links: a job deletes them", "model": Job},
        503: problem_doc("Cache unreachable: nothing deleted"),
        **AUTH_ERRORS,
        **BODY_ERRORS,
        **INVALID,
    },
)
async def bulk_delete_links(
    body: BulkDelete,
    response: Response,
    owner: LinksWrite,
    backends: BackendsDep,
    links: LinkLookupDep,
    settings: SettingsDep,
) -> BulkDeleted | Job:
    selection = Selection(tag=body.tag, codes=body.codes)
    outcome = await bulk_delete(backends, links, settings, owner, selection)
    if outcome.job is None:
        return BulkDeleted(deleted=outcome.deleted)
    response.status_code = 202
    response.headers["Location"] = f"/api/jobs/{outcome.job.id}"
    return present_job(outcome.job)


@router.get("", summary="List your links, newest first", responses={**AUTH_ERRORS, **INVALID})
async def list_links(
    owner: LinksRead,
    backends: BackendsDep,
    settings: SettingsDep,
    cursor: Annotated[str | None, Query(max_length=64, description="From `next_cursor`.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    q: Annotated[
        str | None, Query(max_length=200, description="Text to find in the URL or alias.")
    ] = None,
    tag: Annotated[
        list[Annotated[str, Query(max_length=100)]] | None,
        Query(max_length=MAX_TAGS, description="Only links with these tags (repeatable)."),
    ] = None,
    match: Annotated[
        Literal["all", "any"],
        Query(description="`all`: links with every `tag`; `any`: with at least one."),
    ] = "all",
) -> LinkPage:
    page, next_cursor = await manage.list_links(backends, owner, cursor, limit, q, tag, match)
    return LinkPage(
        items=[manage.present(link, settings) for link in page], next_cursor=next_cursor
    )


@router.get(
    "/{code}/history",
    summary="A link's changes, newest first (also after its delete)",
    responses={**AUTH_ERRORS, **NOT_FOUND, **INVALID},
)
async def link_history(
    code: str,
    owner: LinksRead,
    backends: BackendsDep,
    cursor: Annotated[str | None, Query(max_length=64, description="From `next_cursor`.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> HistoryPage:
    events, next_cursor = await manage.link_history(backends, owner, code, cursor, limit)
    return HistoryPage(
        items=[
            LinkEventOut(
                id=e.id,
                event=e.kind,
                code=e.code,
                occurred_at=e.occurred_at,
                key_prefix=e.key_prefix,
                request_id=e.request_id,
                changes=e.changes,
            )
            for e in events
        ],
        next_cursor=next_cursor,
    )


@router.get("/{code}", summary="Read one link", responses={**AUTH_ERRORS, **NOT_FOUND})
async def read_link(
    code: str, owner: LinksRead, backends: BackendsDep, settings: SettingsDep
) -> Link:
    return manage.present(await manage.read_link(backends, owner, code), settings)


@router.patch(
    "/{code}",
    summary="Change a link's target, expiry, visit limit or redirect type",
    dependencies=JsonBody,
    responses={
        503: problem_doc("Cache unreachable: changes refused"),
        **AUTH_ERRORS,
        **NOT_FOUND,
        **BODY_ERRORS,
        **INVALID,
    },
)
async def update_link(
    code: str,
    body: LinkUpdate,
    owner: LinksWrite,
    backends: BackendsDep,
    links: LinkLookupDep,
    settings: SettingsDep,
    policy: TargetPolicyDep,
) -> Link:
    updated = await manage.update_link(backends, links, policy, owner, code, body)
    return manage.present(updated, settings)


@router.delete(
    "/{code}",
    status_code=204,
    summary="Delete a link",
    responses={503: problem_doc("Cache unreachable"), **AUTH_ERRORS, **NOT_FOUND},
)
async def delete_link(
    code: str, owner: LinksWrite, backends: BackendsDep, links: LinkLookupDep
) -> Response:
    await manage.delete_link(backends, links, owner, code)
    return Response(status_code=204)
