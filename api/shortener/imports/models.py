"""An import as its owner reads it (GET /api/imports/{id}), and a dry run's answer."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shortener.imports.store import ImportCounts
from shortener.jobs.store import BackgroundJob

ERRORS_DESCRIPTION = "The first refused rows, by row number: [{row, field, message}]."


class Import(BaseModel):
    id: int = Field(description="The import's id, also its background job's (/api/jobs/{id}).")
    state: Literal["queued", "running", "done", "failed"]
    rows: int = Field(description="Rows in the file (the CSV header not counted).")
    rejected: int = Field(description="Rows refused at upload, named in `errors`.")
    total: int = Field(description="Valid rows, for the worker to insert.")
    processed: int = Field(description="Valid rows done so far.")
    created: int = Field(description="Links made.")
    existing: int = Field(description="Rows an import of the same file made already.")
    skipped: int = Field(description="Rows whose alias was taken (on_conflict=skip).")
    renamed: int = Field(description="Rows made under another alias (on_conflict=rename).")
    errors: list[dict[str, Any]] = Field(description=ERRORS_DESCRIPTION)
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class DryRun(BaseModel):
    dry_run: Literal[True] = True
    rows: int = Field(description="Rows in the file (the CSV header not counted).")
    rejected: int = Field(description="Rows that would be refused, named in `errors`.")
    valid: int = Field(description="Rows that would be inserted or found already there.")
    existing: int = Field(description="Rows an import of the same file made already.")
    aliases_taken: int = Field(description="Valid rows whose alias is in use now.")
    errors: list[dict[str, Any]] = Field(description=ERRORS_DESCRIPTION)


def present_import(job: BackgroundJob, counts: ImportCounts) -> Import:
    return Import(
        id=job.id,
        state=job.state,  # type: ignore[arg-type]
        rows=counts.rows,
        rejected=counts.rejected,
        total=job.total,
        processed=job.processed,
        created=counts.created,
        existing=counts.existing,
        skipped=counts.skipped,
        renamed=counts.renamed,
        errors=job.errors,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
