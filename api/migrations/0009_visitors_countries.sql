-- Unique visitors per link and UTC day, and the country of each click (docs/clicks.md,
-- "Visitors" and "Countries"). Written by the worker in the batch's one statement, fed
-- only by the clicks that statement newly inserted: a batch ingested again adds nothing.

-- The country the api looked up when it recorded the click: ISO 3166-1 alpha-2 ("DE"),
-- '' unknown (no database configured, an address it does not know). A constant default:
-- no table rewrite, and an old worker's INSERT, which does not name it, stores ''.
ALTER TABLE clicks ADD COLUMN country text NOT NULL DEFAULT '';

-- People's distinct visitor hashes per link and day (bots are no visitors). The hash is
-- salted with a value that changes every UTC day, so the same person is another hash
-- tomorrow: uniques exist per day only, by design. A hash already here inserts nothing
-- (ON CONFLICT DO NOTHING), and only the hashes inserted raise click_days.visitors.
-- Purged with the raw clicks (purge-old-clicks, CLICK_RETENTION_DAYS), which hold the
-- same hashes as long: a late click of a kept day is still counted once; the counts in
-- click_days and click_totals stay.
CREATE TABLE click_visitors (
    link_id bigint NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    day date NOT NULL,
    visitor text NOT NULL,
    PRIMARY KEY (link_id, day, visitor)
);
-- The purge deletes by day across links.
CREATE INDEX click_visitors_day_idx ON click_visitors (day);

-- The count of click_visitors' rows, kept for ever (it outlives the hashes). Days before
-- this migration have 0: their raw clicks were never counted this way.
ALTER TABLE click_days
    ADD COLUMN visitors bigint NOT NULL DEFAULT 0 CHECK (visitors >= 0);
-- The sum of a link's daily visitors (visitor-days, not people: docs/clicks.md).
ALTER TABLE click_totals
    ADD COLUMN visitors bigint NOT NULL DEFAULT 0 CHECK (visitors >= 0);

-- Per-link, per-day, per-country counts: the stats' top countries ('' = unknown).
CREATE TABLE click_countries (
    link_id bigint NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    day date NOT NULL,
    country text NOT NULL,
    clicks bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    PRIMARY KEY (link_id, day, country)
);
