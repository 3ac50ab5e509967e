"""`Authorization: Bearer <key>` -> the owner id that scopes every link query, once the
key is known, unrevoked, unexpired, and holds the scope the route declares.

A route declares its scope in its signature, with one of the aliases at the bottom
(`owner: LinksRead`), so OpenAPI lists it under the route's security requirement. The
check's answer is kept in Redis (keys/cache.py); expiry is compared with the clock on
every request, cached answer or not. Redis unreachable: Postgres answers, as before.
"""

import logging
from contextvars import ContextVar
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from shortener.backends import Backends
from shortener.dependencies import BackendsDep
from shortener.keys.cache import KeyCheck, NoCheck, cached_check, keep_check
from shortener.keys.scopes import Scope
from shortener.keys.secrets import key_hash, key_prefix
from shortener.keys.store import ApiKey, find_active_key, touch_key
from shortener.problems import Problem, problem_doc

log = logging.getLogger(__name__)

# The key making the request, bound once its check has passed: a link's history names it
# (links/history.py) while the link queries take its owner. A ContextVar, like the request
# id (logs.py): each request's task sees its own.
ACTING_KEY: ContextVar[int | None] = ContextVar("acting_key", default=None)

# last_used_at is written when the value the check read is older than this (store.TOUCH
# holds the same minute, so two replicas racing still write once).
TOUCH_AFTER = timedelta(minutes=1)


def _presented_key(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


def missing_scopes(needed: list[str], held: frozenset[str]) -> list[str]:
    """The scopes a route needs that a key lacks, in the route's order."""
    return [scope for scope in needed if scope not in held]


# Only documents the key in OpenAPI (a security scheme: the docs' Authorize button, and
# clients told which endpoints need it and with which scopes); current_key reads and
# checks the header itself.
BEARER = HTTPBearer(
    auto_error=False,
    description="An API key, from `make api-key NAME=...` or `POST /api/keys`.",
)


def _check_of(key: ApiKey) -> KeyCheck:
    return KeyCheck(
        key_id=key.id,
        owner_id=key.owner_id,
        prefix=key.prefix,
        name=key.name,
        scopes=frozenset(key.scopes),
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
    )


async def _touch(backends: Backends, key_id: int) -> None:
    """After the reply: a failure costs a late last_used_at, never the request."""
    try:
        async with backends.database.connection() as conn:
            await touch_key(conn, key_id)
    except Exception as error:  # after the reply: nobody to tell but the log
        log.warning("last_used_at not written", extra={"error": str(error)})


async def _check_key(backends: Backends, presented: str, tasks: BackgroundTasks) -> KeyCheck:
    if key_prefix(presented) is None:
        raise _unauthorized("The API key is unknown or revoked.")
    hashed = key_hash(presented)
    match await cached_check(backends.cache, hashed):
        case KeyCheck() as check:
            return check
        case NoCheck.REVOKED:
            raise _unauthorized("The API key is unknown or revoked.")
        case NoCheck.NOT_CACHED | NoCheck.CACHE_DOWN as miss:
            async with backends.database.connection() as conn:
                key = await find_active_key(conn, presented)
            if key is None:
                raise _unauthorized("The API key is unknown or revoked.")
            check = _check_of(key)
            now = datetime.now(UTC)
            if check.last_used_at is None or now - check.last_used_at >= TOUCH_AFTER:
                tasks.add_task(_touch, backends, check.key_id)
                # Cached as written: the cached answers of the next minute touch nothing.
                check = replace(check, last_used_at=now)
            if miss is NoCheck.NOT_CACHED:
                await keep_check(backends.cache, hashed, check)
            return check


async def current_key(
    request: Request,
    security_scopes: SecurityScopes,
    backends: BackendsDep,
    tasks: BackgroundTasks,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> KeyCheck:
    presented = _presented_key(request)
    if presented is None:
        raise Problem(
            401,
            "unauthorized",
            "This endpoint needs an API key: send 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    check = await _check_key(backends, presented, tasks)
    if check.expires_at is not None and check.expires_at <= datetime.now(UTC):
        raise _unauthorized(f"The API key expired at {check.expires_at.isoformat()}.")
    missing = missing_scopes(security_scopes.scopes, check.scopes)
    if missing:
        needed = " ".join(missing)
        raise Problem(
            403,
            "insufficient-scope",
            f"This API key lacks the scope {', '.join(missing)} this endpoint needs.",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{needed}"'},
            missing_scopes=missing,
        )
    ACTING_KEY.set(check.key_id)
    return check


async def current_owner(key: Annotated[KeyCheck, Security(current_key)]) -> int:
    return key.owner_id


# Any valid key, whatever its scopes (GET /api/keys/current).
CurrentKey = Annotated[KeyCheck, Security(current_key)]
# The owner id, once the key holds the route's scope: one alias per scope.
LinksRead = Annotated[int, Security(current_owner, scopes=[Scope.LINKS_READ])]
LinksWrite = Annotated[int, Security(current_owner, scopes=[Scope.LINKS_WRITE])]
StatsRead = Annotated[int, Security(current_owner, scopes=[Scope.STATS_READ])]
WebhooksKey = Annotated[int, Security(current_owner, scopes=[Scope.WEBHOOKS])]
KeysAdmin = Annotated[KeyCheck, Security(current_key, scopes=[Scope.KEYS_ADMIN])]

# For the `responses=` of every route that takes one of the aliases above.
AUTH_ERRORS = {
    401: problem_doc("Missing, unknown, revoked or expired API key"),
    403: problem_doc("The API key lacks this endpoint's scope (named in `missing_scopes`)"),
}
