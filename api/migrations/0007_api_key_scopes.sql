-- API keys get scopes, an optional expiry, a last-use time, and may act for another key.
-- (docs/api.md "Keys", docs/security.md "API keys").

ALTER TABLE api_keys
    -- What the key may do (api/shortener/keys/scopes.py names them). The default gives
    -- every key made before this migration all five scopes, the rights it had; it is
    -- dropped below, so each new key states its scopes.
    ADD COLUMN scopes text[] NOT NULL
        DEFAULT ARRAY['links:read', 'links:write', 'stats:read', 'webhooks', 'keys:admin']
        CONSTRAINT api_keys_scopes_known CHECK (
            cardinality(scopes) >= 1
            AND scopes <@ ARRAY['links:read', 'links:write', 'stats:read', 'webhooks',
                                'keys:admin']
        ),
    -- NULL: never expires.
    ADD COLUMN expires_at timestamptz,
    -- Written at most about once a minute per key, not on every request (keys/auth.py).
    ADD COLUMN last_used_at timestamptz,
    -- A key made through POST /api/keys acts on the links of the key that made it (the
    -- same owner); NULL for a key made by `make api-key`, which owns its links itself.
    ADD COLUMN owner_id bigint REFERENCES api_keys (id);

ALTER TABLE api_keys ALTER COLUMN scopes DROP DEFAULT;

-- GET /api/keys: an owner's keys.
CREATE INDEX api_keys_owner_idx ON api_keys ((coalesce(owner_id, id)));
