"""A key's tags, read and rewritten across its links (the `tags` column of `links`).

A rename or a tag's delete changes every link that has the tag, and each changed link
gets its `link.updated` event: both in one statement (as a batch's creates, links/
history.py), so the changes and their history commit together, and one link's change
never waits for a round trip per link.
"""

from dataclasses import dataclass

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row

from shortener.links.history import UPDATED, request_id


@dataclass(frozen=True)
class TagSummary:
    tag: str
    links: int
    clicks: int
    bot_clicks: int


SUMMARIES = """
SELECT t.tag, count(*) AS links,
       coalesce(sum(c.clicks), 0)::bigint AS clicks,
       coalesce(sum(c.bot_clicks), 0)::bigint AS bot_clicks
FROM links l
CROSS JOIN unnest(l.tags) AS t(tag)
LEFT JOIN click_totals c ON c.link_id = l.id
WHERE l.owner_id = %(owner)s AND (%(tag)s::text IS NULL OR l.tags @> ARRAY[%(tag)s::text])
  AND (%(tag)s::text IS NULL OR t.tag = %(tag)s)
GROUP BY t.tag
ORDER BY t.tag COLLATE "C"
"""


async def summaries(conn: AsyncConnection, owner_id: int) -> list[TagSummary]:
    """Each tag of the owner's links, with its links and their clicks (the rollups)."""
    async with conn.cursor(row_factory=class_row(TagSummary)) as cur:
        await cur.execute(SUMMARIES, {"owner": owner_id, "tag": None})
        return await cur.fetchall()


async def summary(conn: AsyncConnection, owner_id: int, tag: str) -> TagSummary | None:
    async with conn.cursor(row_factory=class_row(TagSummary)) as cur:
        await cur.execute(SUMMARIES, {"owner": owner_id, "tag": tag})
        return await cur.fetchone()


async def tagged_link_ids(conn: AsyncConnection, owner_id: int, tag: str) -> list[int]:
    cursor = await conn.execute(
        "SELECT id FROM links WHERE owner_id = %s AND tags @> ARRAY[%s::text]", (owner_id, tag)
    )
    return [link_id for (link_id,) in await cursor.fetchall()]


# `{new_tags}` computes a link's set from `l.tags`; sorted in code point order (COLLATE
# "C", as Python's sorted()) and without duplicates, as the api stores every set.
RETAG = sql.SQL(
    """
    WITH before AS (
        SELECT id, to_jsonb(links) AS row FROM links
        WHERE owner_id = %(owner)s AND tags @> ARRAY[%(tag)s::text]
        ORDER BY id
        FOR UPDATE
    ), changed AS (
        UPDATE links l
        SET tags = ARRAY(
                SELECT t FROM unnest({new_tags}) AS t WHERE t IS NOT NULL
                GROUP BY t ORDER BY t COLLATE "C"),
            updated_at = now()
        FROM before b
        WHERE l.id = b.id
        RETURNING l.id, l.code, l.owner_id, b.row AS before_row, to_jsonb(l) AS after_row
    ), events AS (
        INSERT INTO link_events (link_id, code, owner_id, kind, actor_key_id, request_id,
                                 changes)
        SELECT id, code, owner_id, %(kind)s, %(actor)s, %(request)s,
               link_changes(before_row, after_row)
        FROM changed
        ORDER BY id
    )
    SELECT count(*) FROM changed
    """
)


async def _retag(
    conn: AsyncConnection, owner_id: int, tag: str, new_tags: sql.Composable, new: str | None
) -> int:
    cursor = await conn.execute(
        RETAG.format(new_tags=new_tags),
        {
            "owner": owner_id,
            "tag": tag,
            "new": new,
            "kind": UPDATED,
            "actor": owner_id,
            "request": request_id(),
        },
    )
    row = await cursor.fetchone()
    return row[0] if row else 0


async def rename(conn: AsyncConnection, owner_id: int, old: str, new: str) -> int:
    """`old` becomes `new` on each of the owner's links that has it (a link that has both
    keeps one); returns how many links changed."""
    return await _retag(
        conn,
        owner_id,
        old,
        sql.SQL("array_replace(l.tags, %(tag)s::text, %(new)s::text)"),
        new,
    )


async def remove(conn: AsyncConnection, owner_id: int, tag: str) -> int:
    """The tag off each of the owner's links that has it; returns how many changed."""
    return await _retag(conn, owner_id, tag, sql.SQL("array_remove(l.tags, %(tag)s::text)"), None)
