"""The click tables (api/migrations/0003_clicks.sql, *_visitors_countries.sql): written
here, read by the api.

A batch is one statement, so one round trip: the clicks go in with their stream id as the
key (ON CONFLICT DO NOTHING), and only the rows actually inserted feed the rollups. So a
batch that is written again (re-claimed after a crash, or read twice) adds nothing twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import psycopg

from shortener_worker.clicks.events import Click

# Each rollup row is touched once per batch (GROUP BY), in key order: concurrent batches
# lock shared rows in the same order and so cannot deadlock each other. The links are
# locked FOR KEY SHARE: a link being deleted meanwhile is waited for and then skipped,
# never an FK error that would fail the batch.
RECORD_CLICKS = """
WITH batch AS (
    SELECT *
    FROM unnest(
        %(stream_ids)s::text[], %(link_ids)s::bigint[], %(at_ms)s::bigint[],
        %(referrers)s::text[], %(agents)s::text[], %(bots)s::boolean[],
        %(visitors)s::text[], %(request_ids)s::text[], %(countries)s::text[]
    ) AS batch (
        stream_id, link_id, at_ms, referrer_host, agent_family, is_bot, visitor, request_id,
        country
    )
),
known AS (
    SELECT batch.*
    FROM batch JOIN links ON links.id = batch.link_id
    FOR KEY SHARE OF links
),
inserted AS (
    INSERT INTO clicks (
        stream_id, link_id, clicked_at, referrer_host, agent_family, is_bot, visitor,
        request_id, country
    )
    SELECT stream_id, link_id, timestamptz 'epoch' + at_ms * interval '1 millisecond',
           referrer_host, agent_family, is_bot, visitor, request_id, country
    FROM known
    ORDER BY stream_id
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING stream_id, link_id, clicked_at, (clicked_at AT TIME ZONE 'UTC')::date AS day,
              is_bot, referrer_host, visitor, country
),
-- People's visitor hashes of the clicks inserted, each (link, day, hash) once ever: what
-- comes back is a visitor not seen before that day, and only those are counted. A batch
-- ingested again inserts no click, so no hash either. Two batches at once with the same
-- hash: the second waits for the first's commit and then inserts nothing.
new_visitors AS (
    INSERT INTO click_visitors (link_id, day, visitor)
    SELECT DISTINCT link_id, day, visitor
    FROM inserted
    WHERE visitor <> '' AND NOT is_bot
    ORDER BY link_id, day, visitor
    ON CONFLICT (link_id, day, visitor) DO NOTHING
    RETURNING link_id, day
),
visitor_counts AS (
    SELECT link_id, day, count(*) AS visitors FROM new_visitors GROUP BY link_id, day
),
totals AS (
    INSERT INTO click_totals AS total (link_id, clicks, bot_clicks, visitors)
    SELECT i.link_id, i.clicks, i.bot_clicks, coalesce(v.visitors, 0)
    FROM (
        SELECT link_id, count(*) AS clicks, count(*) FILTER (WHERE is_bot) AS bot_clicks
        FROM inserted
        GROUP BY link_id
    ) AS i
    LEFT JOIN (
        SELECT link_id, sum(visitors) AS visitors FROM visitor_counts GROUP BY link_id
    ) AS v USING (link_id)
    ORDER BY i.link_id
    ON CONFLICT (link_id) DO UPDATE
    SET clicks = total.clicks + excluded.clicks,
        bot_clicks = total.bot_clicks + excluded.bot_clicks,
        visitors = total.visitors + excluded.visitors
),
days AS (
    INSERT INTO click_days AS d (link_id, day, clicks, bot_clicks, visitors)
    SELECT i.link_id, i.day, i.clicks, i.bot_clicks, coalesce(v.visitors, 0)
    FROM (
        SELECT link_id, day, count(*) AS clicks, count(*) FILTER (WHERE is_bot) AS bot_clicks
        FROM inserted
        GROUP BY link_id, day
    ) AS i
    LEFT JOIN visitor_counts AS v USING (link_id, day)
    ORDER BY i.link_id, i.day
    ON CONFLICT (link_id, day) DO UPDATE
    SET clicks = d.clicks + excluded.clicks,
        bot_clicks = d.bot_clicks + excluded.bot_clicks,
        visitors = d.visitors + excluded.visitors
),
countries AS (
    INSERT INTO click_countries AS c (link_id, day, country, clicks)
    SELECT link_id, day, country, count(*)
    FROM inserted
    GROUP BY link_id, day, country
    ORDER BY link_id, day, country
    ON CONFLICT (link_id, day, country) DO UPDATE
    SET clicks = c.clicks + excluded.clicks
),
referrers AS (
    INSERT INTO click_referrers AS r (link_id, day, referrer_host, clicks)
    SELECT link_id, day, referrer_host, count(*)
    FROM inserted
    GROUP BY link_id, day, referrer_host
    ORDER BY link_id, day, referrer_host
    ON CONFLICT (link_id, day, referrer_host) DO UPDATE
    SET clicks = r.clicks + excluded.clicks
),
-- link.clicked for the webhooks subscribed (docs/events.md): one delivery per link and
-- webhook for the clicks this batch inserted, in this transaction. A batch ingested again
-- inserts no click, so it makes no delivery (and the message id, from the batch's first
-- new click of the link, is unique besides).
clicked AS (
    INSERT INTO webhook_deliveries (webhook_id, message_id, event, payload)
    SELECT w.id, 'msg_click_' || c.first_stream_id || '_' || w.id, 'link.clicked',
           jsonb_build_object(
               'type', 'link.clicked',
               'timestamp', now(),
               'data', jsonb_build_object(
                   'code', l.code, 'clicks', c.clicks, 'bot_clicks', c.bot_clicks,
                   'first_click_at', c.first_at, 'last_click_at', c.last_at))
    FROM (
        SELECT link_id, count(*) AS clicks, count(*) FILTER (WHERE is_bot) AS bot_clicks,
               min(stream_id) AS first_stream_id, min(clicked_at) AS first_at,
               max(clicked_at) AS last_at
        FROM inserted
        GROUP BY link_id
    ) AS c
    JOIN links l ON l.id = c.link_id
    JOIN webhooks w ON w.owner_id = l.owner_id
        AND w.disabled_at IS NULL
        AND 'link.clicked' = ANY (w.events)
        AND (w.codes IS NULL OR l.code = ANY (w.codes))
    ORDER BY c.link_id, w.id
    ON CONFLICT (message_id) DO NOTHING
)
SELECT (SELECT count(*) FROM known), (SELECT count(*) FROM inserted)
"""


@dataclass(frozen=True)
class BatchOutcome:
    inserted: int  # new clicks, counted in the rollups
    duplicates: int  # already stored: a batch written again
    orphans: int  # clicks of links deleted since the redirect, skipped


def record_clicks(conn: psycopg.Connection, clicks: Sequence[Click]) -> BatchOutcome:
    """Insert `clicks` and count the new ones in the rollups; the caller commits."""
    row = conn.execute(
        RECORD_CLICKS,
        {
            "stream_ids": [click.stream_id for click in clicks],
            "link_ids": [click.link_id for click in clicks],
            "at_ms": [click.at_ms for click in clicks],
            "referrers": [click.referrer_host for click in clicks],
            "agents": [click.agent_family for click in clicks],
            "bots": [click.is_bot for click in clicks],
            "visitors": [click.visitor for click in clicks],
            "request_ids": [click.request_id for click in clicks],
            "countries": [click.country for click in clicks],
        },
    ).fetchone()
    assert row is not None
    known, inserted = row
    return BatchOutcome(inserted=inserted, duplicates=known - inserted, orphans=len(clicks) - known)


def delete_clicks_before(conn: psycopg.Connection, age: timedelta, limit: int) -> int:
    """Delete up to `limit` raw clicks older than `age`; the rollups keep their counts."""
    cursor = conn.execute(
        """
        DELETE FROM clicks WHERE stream_id IN (
            SELECT stream_id FROM clicks
            WHERE clicked_at < now() - %s
            ORDER BY clicked_at
            LIMIT %s
            FOR UPDATE SKIP LOCKED
        )
        """,
        (age, limit),
    )
    return cursor.rowcount


def delete_visitors_before(conn: psycopg.Connection, age: timedelta, limit: int) -> int:
    """Delete up to `limit` visitor hashes of days that ended more than `age` ago.

    A day's hashes go when its last raw click may have gone: until then a late click of
    that day (a re-claim, a worker long stopped) still finds its hash and is not counted
    twice. click_days.visitors and click_totals.visitors keep their counts.
    """
    cursor = conn.execute(
        """
        DELETE FROM click_visitors WHERE (link_id, day, visitor) IN (
            SELECT link_id, day, visitor FROM click_visitors
            WHERE day < ((now() - %s) AT TIME ZONE 'UTC')::date
            ORDER BY day
            LIMIT %s
            FOR UPDATE SKIP LOCKED
        )
        """,
        (age, limit),
    )
    return cursor.rowcount
