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

-- The count of click_visitors' rows, kept for ever (it outlives the hashes).
ALTER TABLE click_days
    ADD COLUMN visitors bigint NOT NULL DEFAULT 0 CHECK (visitors >= 0);
-- The sum of a link's daily visitors (visitor-days, not people: docs/clicks.md).
ALTER TABLE click_totals
    ADD COLUMN visitors bigint NOT NULL DEFAULT 0 CHECK (visitors >= 0);

-- The raw clicks still kept (CLICK_RETENTION_DAYS) carry their hashes: their days get
-- their visitors now, counted as the worker counts them (people's, non-empty hashes).
-- Older days, whose raw clicks are gone, keep 0. The ALTERs above hold the click tables
-- until the commit, so no batch is ingested meanwhile (the stream keeps the clicks, and
-- redirects never wait on this): no click is counted by both.
INSERT INTO click_visitors (link_id, day, visitor)
SELECT DISTINCT link_id, (clicked_at AT TIME ZONE 'UTC')::date, visitor
FROM clicks
WHERE visitor <> '' AND NOT is_bot;

UPDATE click_days AS d SET visitors = v.visitors
FROM (SELECT link_id, day, count(*) AS visitors FROM click_visitors GROUP BY link_id, day) AS v
WHERE d.link_id = v.link_id AND d.day = v.day;

UPDATE click_totals AS t SET visitors = v.visitors
FROM (SELECT link_id, count(*) AS visitors FROM click_visitors GROUP BY link_id) AS v
WHERE t.link_id = v.link_id;

-- Per-link, per-day, per-country counts: the stats' top countries ('' = unknown).
CREATE TABLE click_countries (
    link_id bigint NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    day date NOT NULL,
    country text NOT NULL,
    clicks bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    PRIMARY KEY (link_id, day, country)
);
