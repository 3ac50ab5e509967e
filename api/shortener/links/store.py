"""The `links` table: every SQL statement that touches it lives here.

Every query a key makes is scoped by `owner_id`, so one key can never see or change
another key's links (they simply do not exist for it: 404, not 403).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row

from shortener.links.codes import new_code

CODE_ATTEMPTS = 5
COLUMNS = sql.SQL(
    "id, code, url, owner_id, is_alias, created_at, updated_at, expires_at, max_visits, "
    "visit_count, redirect_type, forward_query, allow_indexing, tags, "
    # Whether a password protects the link; the hash itself is read only by find_unlock.
    "password_hash IS NOT NULL AS protected, "
    # People's clicks ingested by the worker's analytics (click_totals): the link's
    # `visits`, the same visits a visit limit counts (bots and HEAD are neither).
    "coalesce((SELECT t.clicks - t.bot_clicks FROM click_totals t "
    "WHERE t.link_id = links.id), 0) AS visits"
)


@dataclass(frozen=True)
class StoredLink:
    id: int
    code: str
    url: str
    owner_id: int | None
    is_alias: bool
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    max_visits: int | None
    visit_count: int
    redirect_type: int
    forward_query: bool
    allow_indexing: bool
    protected: bool
    tags: list[str]
    visits: int


@dataclass(frozen=True)
class NewLink:
    owner_id: int
    url: str
    expires_at: datetime | None = None
    max_visits: int | None = None
    redirect_type: int = 302
    forward_query: bool = False
    allow_indexing: bool = False
    password_hash: str | None = None  # links/passwords.py; None: not protected
    # Normalised and sorted (tags/names.py).
    tags: list[str] = field(default_factory=list)


class CodeSpaceExhausted(Exception):
    """Every attempt collided: the code length is too short for the number of links."""


INSERT = sql.SQL(
    """
    INSERT INTO links (code, url, owner_id, is_alias, expires_at, max_visits,
                       redirect_type, forward_query, allow_indexing, tags,
                       password_hash, password_set_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::text[],
            %s, CASE WHEN %s::text IS NULL THEN NULL ELSE now() END)
    ON CONFLICT (code) DO NOTHING
    RETURNING {columns}
    """
).format(columns=COLUMNS)


def _insert_parameters(link: NewLink, code: str, alias: bool) -> tuple[Any, ...]:
    return (
        code,
        link.url,
        link.owner_id,
        alias,
        link.expires_at,
        link.max_visits,
        link.redirect_type,
        link.forward_query,
        link.allow_indexing,
        link.tags,
        link.password_hash,
        link.password_hash,
    )


async def _insert(
    conn: AsyncConnection, link: NewLink, code: str, alias: bool
) -> StoredLink | None:
    """Insert under `code`; None if the code is taken (no error, so a batch goes on)."""
    async with conn.cursor(row_factory=class_row(StoredLink)) as cur:
        await cur.execute(INSERT, _insert_parameters(link, code, alias))
        return await cur.fetchone()


async def insert_many(
    conn: AsyncConnection, links: list[tuple[NewLink, str | None]], code_length: int
) -> list[StoredLink | None]:
    """Each (link, alias) inserted in order, under its alias or a random code, in one
    round trip (psycopg sends them in pipeline mode); None where the code was taken (the
    caller tries a random code again with `insert_with_random_code`)."""
    if not links:
        return []
    parameters = [
        _insert_parameters(link, alias or new_code(code_length), alias is not None)
        for link, alias in links
    ]
    stored: list[StoredLink | None] = []
    async with conn.cursor(row_factory=class_row(StoredLink)) as cur:
        await cur.executemany(INSERT, parameters, returning=True)
        while True:
            stored.append(await cur.fetchone())
            if not cur.nextset():
                break
    return stored


async def insert_with_alias(conn: AsyncConnection, link: NewLink, alias: str) -> StoredLink | None:
    """The link under the caller's alias, or None when the alias is already taken."""
    return await _insert(conn, link, alias, alias=True)


async def insert_with_random_code(
    conn: AsyncConnection, link: NewLink, code_length: int
) -> StoredLink:
    """The link under a fresh random code, retrying on the rare collision."""
    for _ in range(CODE_ATTEMPTS):
        stored = await _insert(conn, link, new_code(code_length), alias=False)
        if stored is not None:
            return stored
    raise CodeSpaceExhausted(f"no free code after {CODE_ATTEMPTS} attempts")


async def find_link(conn: AsyncConnection, code: str) -> StoredLink | None:
    """Any owner's link: the public redirect path."""
    async with conn.cursor(row_factory=class_row(StoredLink)) as cur:
        await cur.execute(
            sql.SQL("SELECT {columns} FROM links WHERE code = %s").format(columns=COLUMNS),
            (code,),
        )
        return await cur.fetchone()


async def find_owned_link(conn: AsyncConnection, owner_id: int, code: str) -> StoredLink | None:
    async with conn.cursor(row_factory=class_row(StoredLink)) as cur:
        await cur.execute(
            sql.SQL("SELECT {columns} FROM links WHERE code = %s AND owner_id = %s").format(
                columns=COLUMNS
            ),
            (code, owner_id),
        )
        return await cur.fetchone()


async def find_owned_by_url(conn: AsyncConnection, owner_id: int, url: str) -> StoredLink | None:
    """The owner's newest still-usable link to exactly this URL (find_if_exists)."""
    async with conn.cursor(row_factory=class_row(StoredLink)) as cur:
        await cur.execute(
            sql.SQL(
                """
                SELECT {columns} FROM links
                WHERE owner_id = %s AND md5(url) = md5(%s) AND url = %s
                  AND password_hash IS NULL
                  AND (expires_at IS NULL OR expires_at > now())
                  AND (max_visits IS NULL OR visit_count < max_visits)
                ORDER BY id DESC LIMIT 1
                """
            ).format(columns=COLUMNS),
            (owner_id, url, url),
        )
        return await cur.fetchone()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The tag filters (the GIN index links_tags_idx answers both): all of the tags, any of them.
TAG_MATCH = {"all": sql.SQL("tags @> %(tags)s::text[]"), "any": sql.SQL("tags && %(tags)s::text[]")}


async def list_owned_links(
    conn: AsyncConnection,
    owner_id: int,
    *,
    before_id: int | None,
    limit: int,
    text: str | None,
    tags: list[str] | None = None,
    match: str = "all",
) -> list[StoredLink]:
    """A page of the owner's links, newest first, older than `before_id` (keyset paging),
    with all (`match="all"`) or any of `tags` when given."""
    pattern = f"%{_escape_like(text)}%" if text else None
    tag_filter = TAG_MATCH[match] if tags else sql.SQL("true")
    async with conn.cursor(row_factory=class_row(StoredLink)) as cur:
        await cur.execute(
            sql.SQL(
                """
                SELECT {columns} FROM links
                WHERE owner_id = %(owner)s
                  AND (%(before)s::bigint IS NULL OR id < %(before)s)
                  AND (%(pattern)s::text IS NULL
                       OR url ILIKE %(pattern)s OR (is_alias AND code ILIKE %(pattern)s))
                  AND {tag_filter}
                ORDER BY id DESC
                LIMIT %(limit)s
                """
            ).format(columns=COLUMNS, tag_filter=tag_filter),
            {
                "owner": owner_id,
                "before": before_id,
                "pattern": pattern,
                "limit": limit,
                "tags": tags,
            },
        )
        return await cur.fetchall()


async def lock_owned_row(conn: AsyncConnection, owner_id: int, code: str) -> dict[str, Any] | None:
    """The owner's link as it is (to_jsonb of its row), locked until the transaction ends:
    the history's "before" of a change or delete (links/history.py)."""
    cursor = await conn.execute(
        "SELECT to_jsonb(links) FROM links WHERE code = %s AND owner_id = %s FOR UPDATE",
        (code, owner_id),
    )
    row = await cursor.fetchone()
    return row[0] if row else None


# Plain columns; tags and the password have statements of their own below.
UPDATABLE = ("url", "expires_at", "max_visits", "redirect_type", "forward_query", "allow_indexing")


async def update_owned_link(
    conn: AsyncConnection, owner_id: int, code: str, changes: dict[str, Any]
) -> StoredLink | None:
    assignments = [
        sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name))
        for name in UPDATABLE
        if name in changes
    ]
    if "password_hash" in changes:  # a new password (or None: the protection removed)
        assignments.append(
            sql.SQL(
                "password_hash = %(password_hash)s, password_set_at = "
                "CASE WHEN %(password_hash)s::text IS NULL THEN NULL ELSE now() END"
            )
        )
    if "tags" in changes:  # typed: an empty list alone would be an unknown type
        assignments.append(sql.SQL("tags = %(tags)s::text[]"))
    assignments.append(sql.SQL("updated_at = now()"))
    async with conn.cursor(row_factory=class_row(StoredLink)) as cur:
        await cur.execute(
            sql.SQL(
                "UPDATE links SET {assignments} WHERE code = %(code)s AND owner_id = %(owner)s "
                "RETURNING {columns}"
            ).format(assignments=sql.SQL(", ").join(assignments), columns=COLUMNS),
            {**changes, "code": code, "owner": owner_id},
        )
        return await cur.fetchone()


async def delete_owned_link(conn: AsyncConnection, owner_id: int, code: str) -> bool:
    cursor = await conn.execute(
        "DELETE FROM links WHERE code = %s AND owner_id = %s", (code, owner_id)
    )
    return cursor.rowcount == 1


@dataclass(frozen=True)
class Unlock:
    """What unlocking a protected link needs: never cached, never returned."""

    url: str
    password_hash: str | None  # None: no longer protected (changed since it was cached)


async def find_unlock(conn: AsyncConnection, link_id: int) -> Unlock | None:
    """The target and hash of a link, read when a visitor offers a password for it; None
    when the link is gone."""
    async with conn.cursor(row_factory=class_row(Unlock)) as cur:
        await cur.execute("SELECT url, password_hash FROM links WHERE id = %s", (link_id,))
        return await cur.fetchone()


async def count_limited_visit(conn: AsyncConnection, link_id: int) -> bool:
    """Count one person's visit of a max_visits link; False once the limit is reached.

    A single conditional UPDATE: concurrent redirects serialise on the row, so exactly
    max_visits of them succeed, however many arrive at once.
    """
    cursor = await conn.execute(
        """
        UPDATE links SET visit_count = visit_count + 1
        WHERE id = %s AND (max_visits IS NULL OR visit_count < max_visits)
        """,
        (link_id,),
    )
    return cursor.rowcount == 1


async def has_visits_left(conn: AsyncConnection, link_id: int) -> bool:
    """Whether a max_visits link would still redirect a person, counting nothing (HEAD,
    preview bots). False for a link deleted meanwhile, as its redirect would be a 404."""
    cursor = await conn.execute(
        "SELECT max_visits IS NULL OR visit_count < max_visits FROM links WHERE id = %s",
        (link_id,),
    )
    row = await cursor.fetchone()
    return row is not None and row[0]
