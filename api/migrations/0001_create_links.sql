-- Links: a short code and the URL it redirects to.
-- Runs as the schema owner (the migrate job); the app role gets DML rights through the
-- default privileges that init-db set up, never DDL.

CREATE TABLE links (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Random base62 codes today; aliases (letters, digits, _ and -) later.
    code text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9_-]{1,64}$'),
    url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz
);

-- The purge job looks for links past their expiry.
CREATE INDEX links_expires_at_idx ON links (expires_at) WHERE expires_at IS NOT NULL;
