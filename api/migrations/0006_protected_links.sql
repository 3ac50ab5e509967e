-- Password-protected links and the per-link indexing choice (docs/api.md, "Protected
-- links"; docs/security.md).
--
-- password_hash: an argon2id hash (the api's links/passwords.py), never the password. It
-- is read only by the unlock path (links/store.py find_unlock) and never leaves the
-- database: not in the cached redirect entry, not in a response, not in the history.
-- password_set_at: when the password was last set; the history shows it changing (a new
-- password is a change worth recording) without saying anything about the hash.
-- allow_indexing: false by default, so every redirect says `X-Robots-Tag: noindex`.
ALTER TABLE links
    ADD COLUMN password_hash text,
    ADD COLUMN password_set_at timestamptz,
    ADD COLUMN allow_indexing boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT links_password_set_together
        CHECK ((password_hash IS NULL) = (password_set_at IS NULL));

-- The history's fields, now with the protection and the indexing choice. `protected` is
-- derived from the row, so the hash itself is never compared, copied or shown; a new
-- password shows as a new password_set_at.
CREATE OR REPLACE FUNCTION link_changes(before jsonb, after jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT coalesce(
        jsonb_object_agg(field, jsonb_build_object('old', old_value, 'new', new_value)),
        '{}'::jsonb)
    FROM (
        SELECT field,
               coalesce(old_row -> field, 'null'::jsonb) AS old_value,
               coalesce(new_row -> field, 'null'::jsonb) AS new_value
        FROM (
            SELECT before - 'password_hash'
                       || jsonb_build_object('protected', before ->> 'password_hash' IS NOT NULL)
                       AS old_row,
                   after - 'password_hash'
                       || jsonb_build_object('protected', after ->> 'password_hash' IS NOT NULL)
                       AS new_row
        ) AS rows,
        unnest(ARRAY['url', 'expires_at', 'max_visits', 'redirect_type', 'forward_query',
                     'protected', 'password_set_at', 'allow_indexing']) AS field
    ) AS fields
    WHERE old_value <> new_value
$$;
