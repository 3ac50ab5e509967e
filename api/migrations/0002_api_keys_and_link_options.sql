-- API keys, link ownership and the per-link options of the link API.

-- A key is shown once at creation; only its SHA-256 and a short display prefix are kept.
CREATE TABLE api_keys (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix text NOT NULL UNIQUE,
    key_hash bytea NOT NULL CHECK (length(key_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

ALTER TABLE links
    -- NULL for links made before keys existed: no key can see or change them.
    ADD COLUMN owner_id bigint REFERENCES api_keys (id),
    ADD COLUMN is_alias boolean NOT NULL DEFAULT false,
    ADD COLUMN redirect_type smallint NOT NULL DEFAULT 302
        CHECK (redirect_type IN (301, 302, 307, 308)),
    ADD COLUMN forward_query boolean NOT NULL DEFAULT false,
    ADD COLUMN max_visits integer CHECK (max_visits > 0),
    -- Redirects served; kept exactly (one UPDATE per redirect) only for links with
    -- max_visits, where it decides between a redirect and 410 Gone.
    ADD COLUMN visit_count bigint NOT NULL DEFAULT 0 CHECK (visit_count >= 0),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Listing: a key's links, newest first, by keyset pagination on id.
CREATE INDEX links_owner_id_idx ON links (owner_id, id DESC);
-- find_if_exists: a URL can exceed a btree entry, so index its hash and compare the text.
CREATE INDEX links_owner_url_hash_idx ON links (owner_id, md5(url));
