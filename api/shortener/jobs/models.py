"""A background job as its owner reads it."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shortener.jobs.store import BackgroundJob


class Job(BaseModel):
    id: int
    kind: Literal["bulk-delete", "import"]
    state: Literal["queued", "running", "done", "failed"]
    total: int = Field(
        description="Items selected when the job was made (bulk-delete: links; import: valid rows)."
    )
    processed: int = Field(
        description="Items done so far (bulk-delete: links deleted; import: rows done)."
    )
    errors: list[dict[str, Any]] = Field(
        description="[{message}], oldest first; an import's refused rows: [{row, field, message}]."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def present_job(job: BackgroundJob) -> Job:
    return Job(
        id=job.id,
        kind=job.kind,  # type: ignore[arg-type]
        state=job.state,  # type: ignore[arg-type]
        total=job.total,
        processed=job.processed,
        errors=job.errors,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
