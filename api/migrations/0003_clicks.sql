-- Click analytics: raw clicks (exactly once, keyed by their Redis stream entry id) and
-- the rollups the stats endpoint reads. Written by the worker, read by the api.
-- Times and days are UTC.

CREATE TABLE clicks (
    -- The Redis stream entry id ("1700000000000-0"): a batch retried after a crash
    -- inserts nothing twice (INSERT ... ON CONFLICT DO NOTHING).
    stream_id text PRIMARY KEY,
    link_id bigint NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    clicked_at timestamptz NOT NULL,
    referrer_host text NOT NULL DEFAULT '',
    agent_family text NOT NULL DEFAULT '',
    is_bot boolean NOT NULL DEFAULT false,
    -- A salted hash (salt rotated daily): counts distinct visitors, never identifies one.
    visitor text NOT NULL DEFAULT '',
    request_id text NOT NULL DEFAULT ''
);
CREATE INDEX clicks_link_time_idx ON clicks (link_id, clicked_at);
CREATE INDEX clicks_time_idx ON clicks (clicked_at);

-- Per-link totals: the link object's `visits`.
CREATE TABLE click_totals (
    link_id bigint PRIMARY KEY REFERENCES links (id) ON DELETE CASCADE,
    clicks bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    bot_clicks bigint NOT NULL DEFAULT 0 CHECK (bot_clicks >= 0)
);

-- Per-link, per-day counts: the stats' daily series.
CREATE TABLE click_days (
    link_id bigint NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    day date NOT NULL,
    clicks bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    bot_clicks bigint NOT NULL DEFAULT 0 CHECK (bot_clicks >= 0),
    PRIMARY KEY (link_id, day)
);

-- Per-link, per-day, per-referrer counts: the stats' top referrers ('' = none).
CREATE TABLE click_referrers (
    link_id bigint NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    day date NOT NULL,
    referrer_host text NOT NULL,
    clicks bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    PRIMARY KEY (link_id, day, referrer_host)
);
