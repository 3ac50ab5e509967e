"""The end of a `background_jobs` row (the api's jobs: bulk deletes, imports), one
statement for every kind: its state, when it finished, and why it failed if it did."""

from psycopg import Connection
from psycopg.types.json import Jsonb

FINISH = """
UPDATE background_jobs
SET state = %s, finished_at = now(), errors = errors || %s
WHERE id = %s
"""


def finish_job(conn: Connection, job_id: int, state: str, error: str | None = None) -> None:
    errors = [{"message": error}] if error else []
    conn.execute(FINISH, (state, Jsonb(errors), job_id))
