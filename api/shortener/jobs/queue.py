"""Handing a background job to the worker: an RQ job naming the worker's function.

The api enqueues by the function's dotted name, so it imports nothing of the worker; the
worker's RQ imports it when it runs the job. RQ pickles a job's data, which the api's own
Redis clients (decode_responses=True, async) cannot carry: a short-lived synchronous
client is made per enqueue, in a thread, which is fine for something a key does rarely.
What the job does, and how far it got, is in Postgres (jobs/store.py): RQ carries only
the job's id, so a lost RQ job is re-run by enqueueing the id again.
"""

import asyncio

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from shortener.backends import PasswordFromFile
from shortener.problems import Problem
from shortener.settings import Settings

# The worker's queue (its QUEUES setting's first entry, "default" unless changed).
WORKER_QUEUE = "default"
# The worker's functions, by name (worker/shortener_worker/jobs.py lists them too).
BULK_DELETE_FUNCTION = "shortener_worker.bulk_delete.delete_links_in_bulk"
IMPORT_FUNCTION = "shortener_worker.imports.import_links"
# A bulk delete of a million links, 500 a transaction, stays well inside this.
JOB_TIMEOUT_SECONDS = 3600
# Redis keeps RQ's own record a day; the state that matters is in Postgres.
RESULT_TTL_SECONDS = 24 * 3600


class QueueUnavailable(Exception):
    """Redis did not take the job."""


def _enqueue(settings: Settings, function: str, job_id: int) -> None:
    timeout = max(1.0, settings.redis_timeout_seconds)
    connection = Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        credential_provider=PasswordFromFile(settings.redis_password_file),
        client_name="shortener-api-jobs",
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    try:
        Queue(WORKER_QUEUE, connection=connection).enqueue(
            function,
            job_id,
            job_timeout=JOB_TIMEOUT_SECONDS,
            result_ttl=RESULT_TTL_SECONDS,
            failure_ttl=RESULT_TTL_SECONDS,
            description=f"background job {job_id}",
        )
    except RedisError as error:
        raise QueueUnavailable(str(error)) from error
    finally:
        connection.close()


async def enqueue(settings: Settings, function: str, job_id: int) -> None:
    await asyncio.to_thread(_enqueue, settings, function, job_id)


def queue_unavailable() -> Problem:
    return Problem(
        503,
        "queue-unavailable",
        "The job cannot be queued while the cache is unreachable; try again shortly.",
        headers={"Retry-After": "5"},
    )
