"""Starting an import: the file read and checked in the request (imports/rows.py), its
valid rows stored with a background job in one transaction, the job handed to the
worker (worker/shortener_worker/imports.py) once committed.

A dry run stops before storing: it answers what the import would do (rows refused,
aliases taken, rows an import of the same file made already), in the request.

The same file is the same bytes: its SHA-256 names each row (`import_ref`), and the
worker's inserts skip a row whose mark one of the key's links already has. So a file
imported twice, or an import re-run after a crash, creates nothing twice.
"""

import asyncio
import hashlib
from dataclasses import dataclass

from shortener.backends import Backends
from shortener.imports.rows import ImportRow, RowError, UnreadableFile, read_rows
from shortener.imports.store import create_import, import_ref, imported_already, taken_aliases
from shortener.jobs import queue
from shortener.jobs.store import IMPORT, BackgroundJob, create_job, delete_job
from shortener.links.targets import TargetPolicy
from shortener.problems import Problem
from shortener.settings import Settings

# The upload limit (nginx's client_max_body_size for /api/imports says the same).
MAX_IMPORT_BYTES = 16 * 1024 * 1024
MAX_IMPORT_ROWS = 100_000
# Errors kept and shown: the first ones, by row number.
MAX_ERRORS = 50
# The digest's length in a mark: 128 bits of SHA-256 are plenty to tell files apart.
DIGEST_LENGTH = 32
FORMATS = {
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/jsonlines": "jsonl",
}


@dataclass(frozen=True)
class Plan:
    """What an import of this file would do, before any link is made."""

    rows: int
    valid: list[ImportRow]
    errors: list[RowError]
    existing: int
    aliases_taken: list[ImportRow]
    digest: str


def file_format(content_type: str) -> str:
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in FORMATS:
        raise Problem(
            415,
            "unsupported-media-type",
            "Send the file as text/csv or application/x-ndjson (JSON Lines).",
        )
    return FORMATS[media_type]


async def plan_import(
    backends: Backends, policy: TargetPolicy, owner_id: int, body: bytes, content_type: str
) -> Plan:
    fmt = file_format(content_type)
    if len(body) > MAX_IMPORT_BYTES:
        raise Problem(
            413, "payload-too-large", f"An import file is at most {MAX_IMPORT_BYTES} bytes."
        )
    try:
        # Up to 100,000 rows of parsing and checking: in a thread, not on the event loop,
        # which would stall every other request this process serves meanwhile.
        rows = await asyncio.to_thread(read_rows, body, fmt, policy)
    except UnreadableFile as unreadable:
        raise Problem(
            422,
            "unreadable-file",
            f"The file cannot be read: {unreadable}.",
            errors=[{"field": "body", "message": str(unreadable)}],
        ) from None
    if len(rows) > MAX_IMPORT_ROWS:
        raise Problem(413, "too-many-rows", f"An import file has at most {MAX_IMPORT_ROWS} rows.")
    valid = [row for row in rows if isinstance(row, ImportRow)]
    errors = [row for row in rows if isinstance(row, RowError)]
    digest = hashlib.sha256(body).hexdigest()[:DIGEST_LENGTH]
    async with backends.database.connection() as conn:
        done = await imported_already(
            conn, owner_id, [import_ref(digest, row.row_number) for row in valid]
        )
        aliased = [row for row in valid if row.link["alias"]]
        taken = await taken_aliases(conn, [row.link["alias"] for row in aliased])
    pending = [row for row in aliased if import_ref(digest, row.row_number) not in done]
    return Plan(
        rows=len(rows),
        valid=valid,
        errors=errors,
        existing=len(done),
        aliases_taken=[row for row in pending if row.link["alias"] in taken],
        digest=digest,
    )


def refused(plan: Plan) -> Problem | None:
    """No valid row: nothing to do, and the caller is told why, row by row."""
    if plan.valid or not plan.errors:
        return None
    return Problem(
        422,
        "invalid-rows",
        f"None of the file's {plan.rows} rows can be imported.",
        errors=[error.document() for error in plan.errors[:MAX_ERRORS]],
    )


def aliases_conflict(plan: Plan) -> Problem:
    rows = plan.aliases_taken[:MAX_ERRORS]
    return Problem(
        409,
        "alias-taken",
        f"{len(plan.aliases_taken)} rows have an alias already in use (on_conflict=fail).",
        errors=[
            {"row": row.row_number, "field": "alias", "message": "is already in use"}
            for row in rows
        ],
    )


async def start_import(
    backends: Backends,
    settings: Settings,
    owner_id: int,
    plan: Plan,
    on_conflict: str,
) -> BackgroundJob:
    if on_conflict == "fail" and plan.aliases_taken:
        raise aliases_conflict(plan)
    params = {
        "code_length": settings.code_length,
        "quota_per_minute": settings.creation_quota_per_minute,
    }
    errors = [error.document() for error in plan.errors[:MAX_ERRORS]]
    async with backends.database.connection() as conn, conn.transaction():
        job = await create_job(conn, owner_id, IMPORT, params, len(plan.valid), errors)
        await create_import(
            conn, job.id, plan.digest, on_conflict, plan.rows, len(plan.errors), plan.valid
        )
    # As a bulk delete's job (links/bulk_delete.py): enqueued once committed; not taken,
    # the job and its rows go again and the caller's 503 means nothing was done.
    try:
        await queue.enqueue(settings, queue.IMPORT_FUNCTION, job.id)
    except queue.QueueUnavailable as error:
        async with backends.database.connection() as conn:
            await delete_job(conn, job.id)
        raise queue.queue_unavailable() from error
    return job
