"""GET /api/jobs/{id}: a background job's progress, for its owner only."""

from typing import Annotated

from fastapi import APIRouter, Path

from shortener.dependencies import BackendsDep
from shortener.jobs.models import Job, present_job
from shortener.jobs.store import find_owned_job
from shortener.keys.auth import AUTH_ERRORS, LinksRead
from shortener.problems import Problem, problem_doc

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

# A bigint identity column: ids beyond it are no job's.
JobId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get(
    "/{job_id}",
    summary="A background job's state and progress",
    responses={
        **AUTH_ERRORS,
        404: problem_doc("No such job for this key"),
        422: problem_doc("Not a job id"),
    },
)
async def read_job(job_id: JobId, owner: LinksRead, backends: BackendsDep) -> Job:
    async with backends.database.connection() as conn:
        job = await find_owned_job(conn, owner, job_id)
    if job is None:
        raise Problem(404, "job-not-found", f"No job has the id {job_id}.")
    return present_job(job)
