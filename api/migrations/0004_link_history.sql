-- The change history of every link (docs/events.md): one row per create, change and
-- delete, written in the same transaction as the change itself, so a change that commits
-- has its row and one that rolls back has none. It is the transactional outbox the
-- webhooks are delivered from.

CREATE TABLE link_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- No foreign key: a link's history outlives its delete, for the retention period
    -- (HISTORY_RETENTION_DAYS, the worker's prune-history job).
    link_id bigint NOT NULL,
    code text NOT NULL,
    owner_id bigint,
    kind text NOT NULL CHECK (kind IN ('link.created', 'link.updated', 'link.deleted')),
    -- The key that made the change; NULL for the system's own (an expired link purged).
    actor_key_id bigint REFERENCES api_keys (id),
    request_id text NOT NULL DEFAULT '',
    -- {"field": {"old": ..., "new": ...}} for each field that changed (link_changes).
    changes jsonb NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now()
);
-- A link's history, newest first, by keyset on id; the owner's scope first.
CREATE INDEX link_events_owner_code_idx ON link_events (owner_id, code, id DESC);
-- Retention: the oldest rows first.
CREATE INDEX link_events_occurred_at_idx ON link_events (occurred_at);

-- What changed between two versions of a link (to_jsonb of its row before and after;
-- NULL for none: a create has no before, a delete no after). One definition for every
-- writer: the api's changes and the worker's purge of expired links.
CREATE FUNCTION link_changes(before jsonb, after jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT coalesce(
        jsonb_object_agg(field, jsonb_build_object('old', old_value, 'new', new_value)),
        '{}'::jsonb)
    FROM (
        SELECT field,
               coalesce(before -> field, 'null'::jsonb) AS old_value,
               coalesce(after -> field, 'null'::jsonb) AS new_value
        FROM unnest(ARRAY['url', 'expires_at', 'max_visits', 'redirect_type',
                          'forward_query']) AS field
    ) AS fields
    WHERE old_value <> new_value
$$;
