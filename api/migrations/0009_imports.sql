-- Imports (docs/api.md, "Imports"): a file's rows, validated and normalised by the api at
-- upload, kept here until the worker has inserted them in chunks; and the mark on each
-- link an import made, so that the same file imported again creates nothing twice.

-- The background job of an import is kind 'import' (worker/shortener_worker/imports.py).
ALTER TABLE background_jobs DROP CONSTRAINT background_jobs_kind_check;
ALTER TABLE background_jobs ADD CONSTRAINT background_jobs_kind_check
    CHECK (kind IN ('bulk-delete', 'import'));
-- When a run last showed it is alive (its start, each chunk, each wait for the quota):
-- an import queued or running with no sign for a minute lost its worker (SIGKILL, a
-- crash, RQ's job lost with Redis) and the worker's resume-imports job enqueues it again.
ALTER TABLE background_jobs ADD COLUMN progressed_at timestamptz;

-- Which file row made the link: the file's SHA-256 (hex, first 32 characters) and the
-- row's number, "<digest>:<row>". Unique per owner, so a row inserted twice (the same
-- file again, or a chunk re-run after a worker was killed) is an ON CONFLICT, not a
-- second link. Another key importing the same file makes its own links. NULL for links
-- made any other way; not in link_changes' field list (not part of a link's history).
ALTER TABLE links ADD COLUMN import_ref text CHECK (length(import_ref) <= 80);
CREATE UNIQUE INDEX links_import_ref_idx ON links (owner_id, import_ref)
    WHERE import_ref IS NOT NULL;

-- An import's own counts, beside its background_jobs row (whose `total` is the rows to
-- insert and `processed` the rows done, the worker's resume point).
CREATE TABLE imports (
    job_id bigint PRIMARY KEY REFERENCES background_jobs (id) ON DELETE CASCADE,
    digest text NOT NULL,
    on_conflict text NOT NULL CHECK (on_conflict IN ('skip', 'fail', 'rename')),
    -- Rows in the file, and those refused at upload (named in the job's errors).
    rows bigint NOT NULL CHECK (rows >= 0),
    rejected bigint NOT NULL DEFAULT 0 CHECK (rejected >= 0),
    -- What the worker did with the valid rows: new links, rows an import of the same
    -- file had made already, aliases taken (skipped, or renamed).
    created bigint NOT NULL DEFAULT 0 CHECK (created >= 0),
    existing bigint NOT NULL DEFAULT 0 CHECK (existing >= 0),
    skipped bigint NOT NULL DEFAULT 0 CHECK (skipped >= 0),
    renamed bigint NOT NULL DEFAULT 0 CHECK (renamed >= 0)
);

-- The valid rows, as the api normalised them, numbered 1..total in file order (`seq`:
-- the worker takes those after the job's `processed`). In Postgres, not Redis nor a
-- volume: the api and the worker share no filesystem, and a chunk's rows, its links and
-- its progress commit together. Bounded by the upload limit (docs/api.md); deleted when
-- the import is done, and with its job (prune-history) otherwise.
CREATE TABLE import_rows (
    job_id bigint NOT NULL REFERENCES imports (job_id) ON DELETE CASCADE,
    seq integer NOT NULL CHECK (seq >= 1),
    -- The row's number in the file (the header is not counted): errors name it.
    row_number integer NOT NULL CHECK (row_number >= 1),
    -- {"url", "alias", "expires_at", "max_visits", "tags", "created_at"}, normalised.
    link jsonb NOT NULL,
    PRIMARY KEY (job_id, seq)
);
