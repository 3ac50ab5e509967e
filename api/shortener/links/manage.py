"""Creating, changing and deleting links on behalf of an API key.

The routes parse and shape; this module holds the rules: the target normaliser, aliases,
find-if-exists, batches in one transaction, cache invalidation around every write, and
each write's event in the history, in the write's own transaction (links/history.py).
"""

import base64
import binascii
from typing import Any

from psycopg import AsyncConnection
from pydantic import ValidationError

from shortener.backends import Backends
from shortener.links import history
from shortener.links.codes import CODE_PATTERN
from shortener.links.lookup import LinkLookup
from shortener.links.models import BatchItem, BatchResult, Link, LinkCreate, LinkUpdate
from shortener.links.passwords import hash_password
from shortener.links.quota import take_creation_quota
from shortener.links.store import (
    NewLink,
    StoredLink,
    delete_owned_link,
    find_owned_by_url,
    find_owned_link,
    insert_many,
    insert_with_alias,
    insert_with_random_code,
    list_owned_links,
    lock_owned_row,
    update_owned_link,
)
from shortener.links.targets import TargetPolicy, TargetRejected, normalise_target
from shortener.problems import Problem, field_errors, invalid_field
from shortener.settings import Settings
from shortener.tags.names import InvalidTag, normalise_tag


def present(link: StoredLink, settings: Settings) -> Link:
    return Link(
        code=link.code,
        short_url=settings.short_url_prefix + link.code,
        url=link.url,
        alias=link.is_alias,
        created_at=link.created_at,
        updated_at=link.updated_at,
        expires_at=link.expires_at,
        max_visits=link.max_visits,
        visits=link.visits,
        redirect_type=link.redirect_type,  # type: ignore[arg-type]
        forward_query=link.forward_query,
        protected=link.protected,
        allow_indexing=link.allow_indexing,
        tags=link.tags,
    )


def not_found(code: str) -> Problem:
    return Problem(404, "link-not-found", f"No link has the code {code!r}.")


def _could_be_a_code(code: str) -> None:
    """A path segment that no code can be is 404 before any backend is asked: Postgres
    text cannot even hold some of them (NUL), and that must not become a 500."""
    if not CODE_PATTERN.fullmatch(code):
        raise not_found(code)


def normalised_url(url: str, policy: TargetPolicy) -> str:
    try:
        return normalise_target(url, policy)
    except TargetRejected as rejection:
        raise invalid_field("url", str(rejection)) from None


async def _new_link(owner_id: int, request: LinkCreate, url: str) -> NewLink:
    return NewLink(
        owner_id=owner_id,
        url=url,
        expires_at=request.expires_at,
        max_visits=request.max_visits,
        redirect_type=request.redirect_type,
        forward_query=request.forward_query,
        allow_indexing=request.allow_indexing,
        password_hash=await hash_password(request.password) if request.password else None,
        tags=request.tags,
    )


def _alias_taken(alias: str) -> Problem:
    return Problem(
        409,
        "alias-taken",
        f"The alias {alias!r} is already in use.",
        errors=[{"field": "alias", "message": "is already in use"}],
    )


async def _create(
    conn: AsyncConnection, settings: Settings, owner_id: int, request: LinkCreate, url: str
) -> tuple[StoredLink, bool]:
    """One link inside the caller's connection; (link, created). Alias taken -> 409."""
    if request.find_if_exists and request.password is None:
        existing = await find_owned_by_url(conn, owner_id, url)
        if existing is not None and request.alias in (None, existing.code):
            return existing, False
    new = await _new_link(owner_id, request, url)
    if request.alias is None:
        return await insert_with_random_code(conn, new, settings.code_length), True
    stored = await insert_with_alias(conn, new, request.alias)
    if stored is None:
        raise _alias_taken(request.alias)
    return stored, True


Outcome = tuple[StoredLink, bool] | Problem


async def _create_many(
    conn: AsyncConnection,
    settings: Settings,
    owner_id: int,
    requests: list[tuple[LinkCreate, str]],
) -> list[Outcome]:
    """Links without find_if_exists, as `_create` would make them one by one, but inserted
    in one round trip; a random code that collided is tried again on its own."""
    rows = [(await _new_link(owner_id, request, url), request.alias) for request, url in requests]
    outcomes: list[Outcome] = []
    inserted = await insert_many(conn, rows, settings.code_length)
    for (request, _), (new, _), stored in zip(requests, rows, inserted, strict=True):
        if stored is not None:
            outcomes.append((stored, True))
        elif request.alias is not None:
            outcomes.append(_alias_taken(request.alias))
        else:
            outcomes.append((await insert_with_random_code(conn, new, settings.code_length), True))
    return outcomes


async def create_link(
    backends: Backends,
    links: LinkLookup,
    settings: Settings,
    policy: TargetPolicy,
    owner_id: int,
    request: LinkCreate,
) -> tuple[StoredLink, bool]:
    url = normalised_url(request.url, policy)
    await take_creation_quota(backends.cache, owner_id, 1, settings.creation_quota_per_minute)
    async with backends.database.connection() as conn, conn.transaction():
        stored, created = await _create(conn, settings, owner_id, request, url)
        if created:
            await history.record_created(conn, owner_id, [stored.id])
    if created:
        # A scan may have cached this code as missing just before it existed.
        await links.forget([stored.code], required=False)
    return stored, created


def _parse_item(item: dict[str, Any], policy: TargetPolicy) -> tuple[LinkCreate, str]:
    try:
        request = LinkCreate.model_validate(item)
    except ValidationError as error:
        errors = field_errors(error.errors())
        fields = ", ".join(sorted({entry["field"] for entry in errors}))
        raise Problem(
            422, "validation-error", f"The item has invalid fields: {fields}.", errors=errors
        ) from None
    return request, normalised_url(request.url, policy)


async def create_links_batch(
    backends: Backends,
    links: LinkLookup,
    settings: Settings,
    policy: TargetPolicy,
    owner_id: int,
    items: list[dict[str, Any]],
) -> BatchResult:
    """Each item created or answered with its own problem, in order, in one transaction."""
    await take_creation_quota(
        backends.cache, owner_id, len(items), settings.creation_quota_per_minute
    )
    outcomes: dict[int, Outcome] = {}
    plain: list[tuple[int, LinkCreate, str]] = []  # in order, waiting to be inserted at once
    async with backends.database.connection() as conn, conn.transaction():

        async def insert_plain() -> None:
            requests = [(request, url) for _, request, url in plain]
            made = await _create_many(conn, settings, owner_id, requests)
            outcomes.update(zip((index for index, _, _ in plain), made, strict=True))
            plain.clear()

        for index, item in enumerate(items):
            try:
                request, url = _parse_item(item, policy)
                if not request.find_if_exists:
                    plain.append((index, request, url))
                    continue
                await insert_plain()  # first the items before it: it may find one of them
                outcomes[index] = await _create(conn, settings, owner_id, request, url)
            except Problem as problem:
                outcomes[index] = problem
        await insert_plain()
        made = [o[0].id for o in outcomes.values() if not isinstance(o, Problem) and o[1]]
        await history.record_created(conn, owner_id, made)  # one statement for the batch

    results: list[BatchItem] = []
    created_codes: list[str] = []
    for index in range(len(items)):
        outcome = outcomes[index]
        if isinstance(outcome, Problem):
            results.append(
                BatchItem(index=index, status=outcome.status, problem=outcome.document())
            )
            continue
        stored, created = outcome
        if created:
            created_codes.append(stored.code)
        results.append(
            BatchItem(index=index, status=201 if created else 200, link=present(stored, settings))
        )
    if created_codes:
        # Only cached "missing" answers can be there, and they expire within seconds.
        await links.forget(created_codes, required=False)
    failed = sum(1 for result in results if result.link is None)
    return BatchResult(created=len(created_codes), failed=failed, results=results)


async def read_link(backends: Backends, owner_id: int, code: str) -> StoredLink:
    _could_be_a_code(code)
    async with backends.database.connection() as conn:
        stored = await find_owned_link(conn, owner_id, code)
    if stored is None:
        raise not_found(code)
    return stored


def encode_cursor(link_id: int) -> str:
    return base64.urlsafe_b64encode(str(link_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return int(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_field("cursor", "is not a cursor this API returned") from None


def filter_tags(raw: list[str] | None) -> list[str] | None:
    """The `tag` query parameters, normalised as stored; an invalid one is a 422 (no link
    can have it, and a typo should not look like an empty result)."""
    if not raw:
        return None
    try:
        return sorted({normalise_tag(tag) for tag in raw})
    except InvalidTag as invalid:
        raise invalid_field("tag", str(invalid)) from None


async def list_links(
    backends: Backends,
    owner_id: int,
    cursor: str | None,
    limit: int,
    text: str | None,
    tags: list[str] | None = None,
    match: str = "all",
) -> tuple[list[StoredLink], str | None]:
    before = decode_cursor(cursor) if cursor else None
    if text and "\x00" in text:
        raise invalid_field("q", "must not contain NUL characters")
    wanted = filter_tags(tags)
    async with backends.database.connection() as conn:
        # One extra row says whether another page exists.
        rows = await list_owned_links(
            conn, owner_id, before_id=before, limit=limit + 1, text=text, tags=wanted, match=match
        )
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
    return page, next_cursor


async def update_link(
    backends: Backends,
    links: LinkLookup,
    policy: TargetPolicy,
    owner_id: int,
    code: str,
    patch: LinkUpdate,
) -> StoredLink:
    _could_be_a_code(code)
    changes = patch.model_dump(include=patch.model_fields_set)
    if "tags" in changes and changes["tags"] is None:
        changes["tags"] = []  # null clears: the column holds a set, never NULL
    if "url" in changes:
        changes["url"] = normalised_url(changes["url"], policy)
    if "password" in changes:
        password = changes.pop("password")
        changes["password_hash"] = await hash_password(password) if password else None
    if not changes:
        return await read_link(backends, owner_id, code)
    # Drop the cached answer before and after the change: after, because a redirect may
    # have re-filled it from the old row in between.
    await links.forget([code], required=True)
    async with backends.database.connection() as conn, conn.transaction():
        before = await lock_owned_row(conn, owner_id, code)
        if before is None:
            raise not_found(code)
        stored = await update_owned_link(conn, owner_id, code, changes)
        await history.record_changed(conn, owner_id, before)
    if stored is None:  # not after the lock; for the type checker
        raise not_found(code)
    await links.forget([code], required=False)
    return stored


async def delete_link(backends: Backends, links: LinkLookup, owner_id: int, code: str) -> None:
    _could_be_a_code(code)
    await links.forget([code], required=True)
    async with backends.database.connection() as conn, conn.transaction():
        before = await lock_owned_row(conn, owner_id, code)
        if before is None or not await delete_owned_link(conn, owner_id, code):
            raise not_found(code)
        await history.record_changed(conn, owner_id, before)
    await links.forget([code], required=False)


async def link_history(
    backends: Backends, owner_id: int, code: str, cursor: str | None, limit: int
) -> tuple[list[history.LinkEvent], str | None]:
    """A page of the owner's history of `code`, newest first: also of a deleted link, while
    the retention keeps it; 404 when the owner has none (another key's link included)."""
    _could_be_a_code(code)
    before = decode_cursor(cursor) if cursor else None
    async with backends.database.connection() as conn:
        rows = await history.history_page(conn, owner_id, code, before_id=before, limit=limit + 1)
    if not rows and before is None:
        raise not_found(code)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
    return page, next_cursor
