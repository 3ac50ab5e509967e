"""Imports of links from a file, as background jobs (api imports/start.py makes them).

The api read the file, checked each row by the rules of a link made through the API and
stored the valid rows, normalised, in `import_rows` (api/migrations/*_imports.sql),
numbered 1..total (`seq`). This job only inserts them, CHUNK rows a transaction, in
`seq` order after the job's `processed`: a chunk's links, their `link.created` events
(one statement), its counts and its progress commit together, so a worker killed
anywhere has made whole chunks and counted exactly those, and the job run again goes on
from the next one.

Nothing is made twice: each link carries its row's mark (`import_ref`, the file's digest
and the row's number, unique per owner), and the insert skips a row whose mark is there
(ON CONFLICT): the same file imported again counts its rows as `existing`.

A row's alias in use by another link follows the import's `on_conflict`: `skip` (counted),
`fail` (the job stops, failed, naming the row; the chunks before it stay made), `rename`
(the alias with `-` and 4 random characters, tried a few times). A row with no alias gets
a random code, as the api makes them (a collision tries another).

Each chunk counts against the key's creation quota, in the api's Redis key; a chunk past
this minute's quota waits for the next minute (the job's timeout leaves room). Redis
away: the quota is not enforced, as in the api. After each commit the chunk's codes are
dropped from every replica's cache (a cached "no such link" may be there).

A worker killed mid-import takes its RQ job with it; RQ would notice only at its next
maintenance (10 minutes). `resume_imports`, every minute, enqueues again an import whose
run has shown no sign of life for a minute (background_jobs.progressed_at).
"""

import logging
import secrets
import string
import time
from typing import Any

from psycopg import Connection
from psycopg.types.json import Jsonb
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from shortener_worker.backends import current_settings, database, redis_connection
from shortener_worker.background_jobs import finish_job
from shortener_worker.bulk_delete import drop_cached

log = logging.getLogger(__name__)

CHUNK = 500
# As api links/codes.py: random codes are base62 (tests/unit/test_import_copies.py).
ALPHABET = string.ascii_letters + string.digits
CODE_ATTEMPTS = 5
RENAME_SUFFIX = 4
# Refused rows kept in the job (the api keeps its first 50 too).
MAX_ERRORS = 50
# The api's per-key creation quota (api links/quota.py): the same key and window.
QUOTA_WINDOW_SECONDS = 60

START = """
UPDATE background_jobs
SET state = 'running', started_at = coalesce(started_at, now()), finished_at = NULL,
    progressed_at = now()
WHERE id = %s AND kind = 'import' AND state <> 'done'
RETURNING owner_id, params, request_id, total - processed
"""
# The job's row locked for the chunk's transaction: two runs of one job take turns.
LOCK_JOB = "SELECT processed FROM background_jobs WHERE id = %s FOR UPDATE"
# The rows after the progress, read once the lock is held: a statement of its own, so it
# sees what a run that held the lock before committed (READ COMMITTED): never a chunk twice.
CHUNK_ROWS = """
SELECT r.seq, r.row_number, r.link, i.digest, i.on_conflict
FROM background_jobs j
JOIN imports i ON i.job_id = j.id
JOIN import_rows r ON r.job_id = j.id AND r.seq > j.processed
WHERE j.id = %(job)s
ORDER BY r.seq
LIMIT %(chunk)s
"""
INSERT = """
INSERT INTO links (code, url, owner_id, is_alias, expires_at, max_visits, tags, created_at,
                   updated_at, import_ref)
SELECT r.code, r.url, %(owner)s, r.is_alias, r.expires_at, r.max_visits,
       coalesce(r.tags, '{}'), coalesce(r.created_at, now()), now(), r.import_ref
FROM jsonb_to_recordset(%(rows)s) AS r(code text, url text, is_alias boolean,
     expires_at timestamptz, max_visits integer, tags text[], created_at timestamptz,
     import_ref text, seq integer)
ORDER BY r.seq
ON CONFLICT DO NOTHING
RETURNING id, code, import_ref
"""
EXISTING = """
SELECT import_ref FROM links WHERE owner_id = %s AND import_ref = ANY(%s::text[])
"""
# As the api's history.record_created: one statement for the chunk's links. The event
# happens now (the column's default), not at the file's `created_at`: an old one would
# date the event before the import, and the history's retention would prune it at once.
EVENTS = """
INSERT INTO link_events (link_id, code, owner_id, kind, actor_key_id, request_id, changes)
SELECT id, code, owner_id, 'link.created', %(actor)s, %(request)s,
       link_changes(NULL, to_jsonb(links))
FROM links WHERE id = ANY(%(ids)s::bigint[])
ORDER BY id
"""
PROGRESS = """
WITH counted AS (
    UPDATE imports SET created = created + %(created)s, existing = existing + %(existing)s,
                       skipped = skipped + %(skipped)s, renamed = renamed + %(renamed)s
    WHERE job_id = %(job)s
)
UPDATE background_jobs SET processed = processed + %(rows)s, progressed_at = now(),
    errors = CASE WHEN jsonb_array_length(errors) < 50 THEN errors || %(errors)s ELSE errors END
WHERE id = %(job)s
"""


ALIVE = "UPDATE background_jobs SET progressed_at = now() WHERE id = %s"
# Imports whose run shows no sign of life for STALE_SECONDS (a chunk takes well under a
# second, a quota wait touches it first): claimed for a new run, which goes on from the
# last committed chunk. A run that was only slow is harmless: two runs of one job take
# turns on its row, chunk by chunk, and neither does a chunk twice.
STALE_SECONDS = 60
STALE = """
UPDATE background_jobs SET progressed_at = now()
WHERE kind = 'import' AND state IN ('queued', 'running')
  AND coalesce(progressed_at, created_at) < now() - make_interval(secs => %s)
RETURNING id
"""
# As the api enqueues one (api jobs/queue.py).
JOB_TIMEOUT_SECONDS = 3600


class AliasConflict(Exception):
    """on_conflict=fail and a row's alias is in use."""


def new_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def import_ref(digest: str, row_number: int) -> str:
    """As the api's imports/store.py builds it."""
    return f"{digest}:{row_number}"


def _alive(job_id: int) -> None:
    with database() as conn:
        conn.execute(ALIVE, (job_id,))


def take_quota(cache: Redis, job_id: int, owner_id: int, count: int, per_minute: int) -> None:
    """Count `count` links against the key's quota, waiting for the next minute while this
    one's is used up (the job showing it is alive: resume_imports leaves it be)."""
    if per_minute == 0:
        return
    while True:
        now = time.time()
        key = f"quota:create:{owner_id}:{int(now // QUOTA_WINDOW_SECONDS)}"
        try:
            with cache.pipeline(transaction=True) as pipe:
                used, _ = pipe.incrby(key, count).expire(key, 2 * QUOTA_WINDOW_SECONDS).execute()
            if used <= per_minute or count > per_minute:
                return  # a chunk larger than a whole minute's quota goes alone in its minute
            cache.decrby(key, count)
        except RedisError as error:
            log.warning("creation quota not enforced", extra={"error": str(error)})
            return
        _alive(job_id)
        time.sleep(QUOTA_WINDOW_SECONDS - now % QUOTA_WINDOW_SECONDS + 0.01)


def _insert(conn: Connection, owner_id: int, rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """Insert the rows; (id, import_ref) of those made (a taken code or mark: not made)."""
    if not rows:
        return []
    made = conn.execute(INSERT, {"owner": owner_id, "rows": Jsonb(rows)}).fetchall()
    return [(link_id, ref) for link_id, _, ref in made]


def _another_code(row: dict[str, Any], code_length: int) -> str:
    if not row["is_alias"]:
        return new_code(code_length)  # a random code collided: another one
    return f"{row['alias'][: 64 - RENAME_SUFFIX - 1]}-{new_code(RENAME_SUFFIX)}"


def _run_chunk(
    conn: Connection, job_id: int, owner_id: int, params: dict[str, Any]
) -> tuple[int, list[str]]:
    """One chunk in the caller's transaction: (rows done, codes made)."""
    conn.execute(LOCK_JOB, (job_id,))
    chunk = conn.execute(CHUNK_ROWS, {"job": job_id, "chunk": CHUNK}).fetchall()
    if not chunk:
        return 0, []
    digest, on_conflict = chunk[0][3], chunk[0][4]
    pending = [
        link
        | {
            "seq": seq,
            "row": row_number,
            "code": link.get("alias") or new_code(params["code_length"]),
            "is_alias": link.get("alias") is not None,
            "import_ref": import_ref(digest, row_number),
        }
        for seq, row_number, link, _, _ in chunk
    ]
    marks = [row["import_ref"] for row in pending]
    existing = {ref for (ref,) in conn.execute(EXISTING, (owner_id, marks)).fetchall()}
    pending = [row for row in pending if row["import_ref"] not in existing]
    made: list[dict[str, Any]] = []
    made_ids: list[int] = []
    skipped: list[dict[str, Any]] = []
    for attempt in range(CODE_ATTEMPTS + 1):
        inserted = dict((ref, link_id) for link_id, ref in _insert(conn, owner_id, pending))
        made += [row for row in pending if row["import_ref"] in inserted]
        made_ids += inserted.values()
        retry = []
        for row in (row for row in pending if row["import_ref"] not in inserted):
            if row["is_alias"] and on_conflict == "fail":
                raise AliasConflict(f"row {row['row']}: the alias {row['alias']!r} is in use")
            if (row["is_alias"] and on_conflict == "skip") or attempt == CODE_ATTEMPTS:
                skipped.append(row)
            else:
                retry.append(row | {"code": _another_code(row, params["code_length"])})
        pending = retry
        if not pending:
            break
    conn.execute(EVENTS, {"actor": owner_id, "request": params["request"], "ids": made_ids})
    errors = [
        {"row": row["row"], "field": "alias", "message": "is already in use: skipped"}
        for row in skipped
    ]
    conn.execute(
        PROGRESS,
        {
            "job": job_id,
            "rows": len(chunk),
            "created": len(made),
            "existing": len(existing),
            "skipped": len(skipped),
            "renamed": sum(1 for row in made if row["is_alias"] and row["code"] != row["alias"]),
            "errors": Jsonb(errors[:MAX_ERRORS]),
        },
    )
    return len(chunk), [row["code"] for row in made]


def import_links(job_id: int) -> int:
    """Run the import job `job_id`; return how many links this run made."""
    with database() as conn:
        row = conn.execute(START, (job_id,)).fetchone()
    if row is None:
        log.warning("no import job to run (none, or done)", extra={"job": job_id})
        return 0
    owner_id, params, request_id, left = row
    params = {**params, "request": request_id}
    made = 0
    try:
        with redis_connection() as cache:
            while True:
                # Counted before the chunk, as the api counts a batch before inserting it.
                take_quota(
                    cache, job_id, owner_id, min(CHUNK, max(left, 1)), params["quota_per_minute"]
                )
                with database() as conn:
                    done, codes = _run_chunk(conn, job_id, owner_id, params)
                if codes:
                    try:
                        drop_cached(cache, codes)
                    except RedisError as error:
                        log.warning("cache invalidation failed", extra={"error": str(error)})
                made += len(codes)
                left -= done
                if done < CHUNK:
                    break
    except Exception as error:
        _finish(job_id, "failed", f"{type(error).__name__}: {error}")
        log.exception("import failed", extra={"job": job_id, "made": made})
        raise
    _finish(job_id, "done")
    log.info("import done", extra={"job": job_id, "made": made})
    return made


def resume_imports(stale_seconds: float = STALE_SECONDS) -> list[int]:
    """Enqueue again the imports whose worker went away; their ids (run every minute)."""
    with database() as conn:
        stale = [job_id for (job_id,) in conn.execute(STALE, (stale_seconds,)).fetchall()]
    if stale:
        with redis_connection() as connection:
            queue = Queue(current_settings().queues[0], connection=connection)
            for job_id in stale:
                queue.enqueue(import_links, job_id, job_timeout=JOB_TIMEOUT_SECONDS)
        log.warning("imports resumed", extra={"jobs": stale})
    return stale


def _finish(job_id: int, state: str, error: str | None = None) -> None:
    """The job's end; a finished import's rows go (a failed one keeps them for a re-run)."""
    with database() as conn:
        finish_job(conn, job_id, state, error)
        if state == "done":
            conn.execute("DELETE FROM import_rows WHERE job_id = %s", (job_id,))
