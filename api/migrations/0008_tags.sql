-- Tags on links (docs/api.md, "Tags") and the background jobs table (bulk delete today,
-- imports later).

-- Tags live on the link as a sorted text[] rather than in a tags table and a join table:
-- a link carries at most 10, every reader of a link wants them with it (one row, no join,
-- no N+1 for a page), a PATCH replaces the set in one UPDATE, and the history's
-- before/after (to_jsonb of the row) carries them with no extra query. The api stores
-- them normalised, de-duplicated and sorted (in code point order, COLLATE "C"), so two
-- equal sets are equal arrays and link_changes sees no change where there is none.
-- The cost: a rename or a tag's delete rewrites each link that has it (one statement).
ALTER TABLE links ADD COLUMN tags text[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(tags) <= 10);
-- The filters: `tags @> $1` (all of them) and `tags && $1` (any of them), and a tag's
-- links for /api/tags/{tag}, its stats and a bulk delete. A GIN index answers both
-- operators; the planner ANDs it with links_owner_id_idx for the key's scope.
CREATE INDEX links_tags_idx ON links USING gin (tags);

-- The history's field list, with `tags` (0006 is the one before: the rest unchanged): a
-- tag change is a link.updated event and reaches the webhooks like any other change. A
-- link that is not there (before a create, after a delete) has no tags, [], as it has no
-- max_visits, null: a create without tags records no `tags` change, and a delete's is
-- {"old": [...], "new": []}.
CREATE OR REPLACE FUNCTION link_changes(before jsonb, after jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT coalesce(
        jsonb_object_agg(field, jsonb_build_object('old', old_value, 'new', new_value)),
        '{}'::jsonb)
    FROM (
        SELECT field,
               coalesce(old_row -> field, CASE field WHEN 'tags' THEN '[]'::jsonb
                                                     ELSE 'null'::jsonb END) AS old_value,
               coalesce(new_row -> field, CASE field WHEN 'tags' THEN '[]'::jsonb
                                                     ELSE 'null'::jsonb END) AS new_value
        FROM (
            SELECT before - 'password_hash'
                       || jsonb_build_object('protected', before ->> 'password_hash' IS NOT NULL)
                       AS old_row,
                   after - 'password_hash'
                       || jsonb_build_object('protected', after ->> 'password_hash' IS NOT NULL)
                       AS new_row
        ) AS rows,
        unnest(ARRAY['url', 'expires_at', 'max_visits', 'redirect_type', 'forward_query',
                     'protected', 'password_set_at', 'allow_indexing', 'tags']) AS field
    ) AS fields
    WHERE old_value <> new_value
$$;

-- Work a key started that runs in the worker (RQ) rather than in the request: its state
-- lives here, not in Redis, so it survives a Redis or worker restart and its owner can
-- read it; RQ only carries the job's id. A job re-run picks up what is left (each kind's
-- work is idempotent). Kinds: 'bulk-delete' (links/bulk_delete); imports (issue 20)
-- are meant to add theirs.
CREATE TABLE background_jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('bulk-delete')),
    owner_id bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'done', 'failed')),
    -- What to do, as the kind defines it (bulk-delete: {"tag", "max_id"} or {"codes"}).
    params jsonb NOT NULL,
    -- Items selected when the job was made, and items done so far (bulk-delete: deleted).
    total bigint NOT NULL CHECK (total >= 0),
    processed bigint NOT NULL DEFAULT 0 CHECK (processed >= 0),
    -- [{"message": ...}], newest last; a failed job says why.
    errors jsonb NOT NULL DEFAULT '[]',
    -- The request that made it (X-Request-ID): its history events carry it too.
    request_id text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX background_jobs_owner_idx ON background_jobs (owner_id, id DESC);
