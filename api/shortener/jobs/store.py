"""The `background_jobs` table (migration 0008): a job's state, kept in Postgres so that it
outlives Redis and the worker, and its owner can follow it. The worker moves it along
(worker/shortener_worker/bulk_delete.py); the api makes and reads it."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from shortener.links.history import request_id

BULK_DELETE = "bulk-delete"
IMPORT = "import"


@dataclass(frozen=True)
class BackgroundJob:
    id: int
    kind: str
    state: str
    total: int
    processed: int
    errors: list[dict[str, Any]]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


COLUMNS = "id, kind, state, total, processed, errors, created_at, started_at, finished_at"


async def create_job(
    conn: AsyncConnection,
    owner_id: int,
    kind: str,
    params: dict[str, Any],
    total: int,
    errors: list[dict[str, Any]] | None = None,
) -> BackgroundJob:
    async with conn.cursor(row_factory=class_row(BackgroundJob)) as cur:
        await cur.execute(
            f"INSERT INTO background_jobs (kind, owner_id, params, total, errors, request_id) "  # noqa: S608
            f"VALUES (%s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
            (kind, owner_id, Jsonb(params), total, Jsonb(errors or []), request_id()),
        )
        job = await cur.fetchone()
    assert job is not None  # an INSERT ... RETURNING returns its row
    return job


async def find_owned_job(conn: AsyncConnection, owner_id: int, job_id: int) -> BackgroundJob | None:
    async with conn.cursor(row_factory=class_row(BackgroundJob)) as cur:
        await cur.execute(
            f"SELECT {COLUMNS} FROM background_jobs WHERE id = %s AND owner_id = %s",  # noqa: S608
            (job_id, owner_id),
        )
        return await cur.fetchone()


async def delete_job(conn: AsyncConnection, job_id: int) -> None:
    """A job that was never queued (Redis away): as if it had not been asked for."""
    await conn.execute("DELETE FROM background_jobs WHERE id = %s", (job_id,))
