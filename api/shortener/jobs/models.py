"""A background job as its owner reads it."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class Job(BaseModel):
    id: int
    kind: Literal["bulk-delete"]
    state: Literal["queued", "running", "done", "failed"]
    total: int = Field(description="Items selected when the job was made (bulk-delete: links).")
    processed: int = Field(description="Items done so far (bulk-delete: links deleted).")
    errors: list[dict[str, Any]] = Field(description="[{message}], oldest first.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
