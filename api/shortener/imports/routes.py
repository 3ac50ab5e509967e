"""POST /api/imports (a file of links, inserted by the worker) and GET /api/imports/{id}."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from shortener.backends import Backends
from shortener.dependencies import BackendsDep, SettingsDep
from shortener.imports.models import DryRun, Import, present_import
from shortener.imports.start import (
    MAX_ERRORS,
    MAX_IMPORT_BYTES,
    plan_import,
    refused,
    start_import,
)
from shortener.imports.store import find_counts
from shortener.jobs.store import IMPORT, find_owned_job
from shortener.keys.auth import AUTH_ERRORS, LinksRead, LinksWrite
from shortener.links.dependencies import TargetPolicyDep
from shortener.problems import Problem, problem_doc

router = APIRouter(prefix="/api/imports", tags=["imports"])

ImportId = Annotated[int, Path(ge=1, le=2**63 - 1)]
FILE_BODY = {
    "required": True,
    "content": {
        media_type: {"schema": {"type": "string"}}
        for media_type in ("text/csv", "application/x-ndjson")
    },
}


async def read_file(request: Request) -> bytes:
    """The body, refused past the limit as it arrives (nginx refuses a larger one first)."""
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_IMPORT_BYTES:
            raise Problem(
                413, "payload-too-large", f"An import file is at most {MAX_IMPORT_BYTES} bytes."
            )
    return bytes(body)


@router.post(
    "",
    status_code=202,
    summary="Import links from a CSV or JSON Lines file",
    openapi_extra={"requestBody": FILE_BODY},
    responses={
        200: {"description": "dry_run: what the import would do", "model": DryRun},
        409: problem_doc("on_conflict=fail and aliases in use, each row named"),
        413: problem_doc("The file is too large"),
        415: problem_doc("Not text/csv or application/x-ndjson"),
        422: problem_doc("No row can be imported, each named; or the file cannot be read"),
        503: problem_doc("Cache unreachable: nothing queued"),
        **AUTH_ERRORS,
    },
)
async def create_import(
    request: Request,
    response: Response,
    owner: LinksWrite,
    backends: BackendsDep,
    settings: SettingsDep,
    policy: TargetPolicyDep,
    dry_run: Annotated[bool, Query(description="Check and count; create nothing.")] = False,
    on_conflict: Annotated[
        Literal["skip", "fail", "rename"],
        Query(
            description="A row whose alias is in use: `skip` it (counted), `fail` the import "
            "(409, nothing made), or `rename` it (the alias with a suffix)."
        ),
    ] = "skip",
) -> Import | DryRun:
    body = await read_file(request)
    plan = await plan_import(backends, policy, owner, body, request.headers.get("content-type", ""))
    if (problem := refused(plan)) is not None:
        raise problem
    if dry_run:
        response.status_code = 200
        return DryRun(
            rows=plan.rows,
            rejected=len(plan.errors),
            valid=len(plan.valid),
            existing=plan.existing,
            aliases_taken=len(plan.aliases_taken),
            errors=[error.document() for error in plan.errors[:MAX_ERRORS]],
        )
    job = await start_import(backends, settings, owner, plan, on_conflict)
    response.headers["Location"] = f"/api/imports/{job.id}"
    return await _read(backends, owner, job.id)


async def _read(backends: Backends, owner: int, import_id: int) -> Import:
    async with backends.database.connection() as conn:
        job = await find_owned_job(conn, owner, import_id)
        counts = await find_counts(conn, import_id) if job and job.kind == IMPORT else None
    if job is None or counts is None:
        raise Problem(404, "import-not-found", f"No import has the id {import_id}.")
    return present_import(job, counts)


@router.get(
    "/{import_id}",
    summary="An import's state, counts and first refused rows",
    responses={
        **AUTH_ERRORS,
        404: problem_doc("No such import for this key"),
        422: problem_doc("Not an import id"),
    },
)
async def read_import(import_id: ImportId, owner: LinksRead, backends: BackendsDep) -> Import:
    return await _read(backends, owner, import_id)
