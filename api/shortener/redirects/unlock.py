"""Unlocking a password-protected link: the password a visitor offers, the attempts each
visitor and each link may make, and the check.

The password comes in the `Link-Password` header (API clients) or in the unlock page's
form (a POST to the short URL, `password=...`; the page is nginx's: nginx/web/unlock.html).

Attempts are counted in Redis before the password is checked, so concurrent guesses
cannot slip past the limit: `VISITOR_ATTEMPTS` per visitor per link and `LINK_ATTEMPTS`
per link from everyone, in a window of `WINDOW_SECONDS` from the first; a right password
takes its attempt back, so only wrong ones use the allowance. The visitor is the client
address (nginx sets it: nginx/includes/upstream.conf), hashed with the day's salt
(clicks/salt.py) so no address is written to Redis. The link-wide limit holds guessing
from many addresses to ~`LINK_ATTEMPTS` per window, at the price that such an attack also
keeps the link's real visitors waiting: docs/security.md. With Redis unreachable no
attempt can be counted, so none is checked (503): a cache outage must not lift the limit.
"""

import hashlib
from contextlib import suppress
from datetime import UTC, datetime
from urllib.parse import parse_qs

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.requests import Request

from shortener.clicks.salt import DailySalt
from shortener.links.lookup import LinkLookup
from shortener.links.manage import not_found
from shortener.links.passwords import password_matches
from shortener.links.target import Target
from shortener.problems import Problem
from shortener.redirects.decide import Visitor

PASSWORD_HEADER = "link-password"  # noqa: S105 (a header's name)
FORM_FIELD = "password"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
# The page's form sends a few dozen bytes; a longer body is no password.
MAX_FORM_BYTES = 4096
VISITOR_ATTEMPTS = 5
LINK_ATTEMPTS = 100
WINDOW_SECONDS = 15 * 60
# Where nginx shows a browser the unlock page instead of the api's 401 (X-Accel-Redirect:
# nginx.conf, location /.unlock); `state` picks the page's message.
UNLOCK_PAGE = "/.unlock?state="


async def offered_password(request: Request) -> str | None:
    """The password the request offers, or None when it offers none."""
    header = request.headers.get(PASSWORD_HEADER)
    if header is not None:
        return header
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method != "POST" or media_type != FORM_MEDIA_TYPE:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return ""  # offered, and wrong: no password is that long
    try:
        fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=8)
    except ValueError:  # more fields than the page's form has: no form of ours
        return ""
    values = fields.get(FORM_FIELD)
    return values[0] if values else None


class UnlockAttempts:
    """The attempt limits, shared by every api replica through Redis."""

    def __init__(self, cache: Redis) -> None:
        self._cache = cache
        self._salt = DailySalt(cache)

    async def _keys(self, link_id: int, address: str) -> tuple[str, str]:
        salt = await self._salt.for_day(datetime.now(UTC).date())
        visitor = hashlib.sha256(f"{salt}:{address}".encode()).hexdigest()[:16]
        return f"unlock:{link_id}:{visitor}", f"unlock:{link_id}"

    async def take(self, link_id: int, address: str) -> int:
        """Count an attempt; 0 when it may be checked, else the seconds to wait (429).
        Raises RedisError when the attempt cannot be counted."""
        visitor_key, link_key = await self._keys(link_id, address)
        async with self._cache.pipeline(transaction=True) as pipe:
            for key in (visitor_key, link_key):
                pipe.incr(key)
                pipe.expire(key, WINDOW_SECONDS, nx=True)
                pipe.ttl(key)
            by_visitor, _, visitor_ttl, by_link, _, link_ttl = await pipe.execute()
        if by_visitor > VISITOR_ATTEMPTS:
            return max(1, visitor_ttl)
        if by_link > LINK_ATTEMPTS:
            return max(1, link_ttl)
        return 0

    async def give_back(self, link_id: int, address: str) -> None:
        """A right password: its attempt does not count against anyone."""
        visitor_key, link_key = await self._keys(link_id, address)
        async with self._cache.pipeline(transaction=False) as pipe:
            pipe.decr(visitor_key)
            pipe.decr(link_key)
            await pipe.execute()


def locked_out(
    request: Request, status: int, kind: str, page: str, detail: str, **headers: str
) -> Problem:
    """A refusal that names nothing of the target. A browser's navigation (it accepts
    HTML) gets nginx's unlock page instead (X-Accel-Redirect; nginx keeps the status)."""
    headers = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex", **headers}
    if "text/html" in request.headers.get("accept", "") and request.method != "HEAD":
        headers["X-Accel-Redirect"] = UNLOCK_PAGE + page
    return Problem(status, kind, detail, headers=headers)


async def unlock(
    target: Target,
    visitor: Visitor,
    request: Request,
    links: LinkLookup,
    attempts: UnlockAttempts,
) -> Target:
    """The protected link, followable, if the visitor's password is right (unlock.py)."""
    address = request.client.host if request.client else ""
    try:
        wait = await attempts.take(target.id, address)
    except RedisError as error:
        raise Problem(
            503,
            "cache-unavailable",
            "Passwords cannot be checked while the cache is unreachable; try again shortly.",
            headers={"Retry-After": "5", "Cache-Control": "no-store"},
        ) from error
    if wait:
        raise locked_out(
            request,
            429,
            "too-many-attempts",
            "wait",
            "Too many wrong passwords for this link; try again after Retry-After seconds.",
            **{"Retry-After": str(wait)},
        )
    stored = await links.find_unlock(target)
    if stored is None:  # deleted since the cache said it was there
        raise not_found(request.path_params["code"])
    if stored.password_hash is not None and not await password_matches(
        stored.password_hash, visitor.password or ""
    ):
        raise locked_out(request, 401, "password-incorrect", "wrong", "The password is wrong.")
    with suppress(RedisError):  # the attempt stays counted: a visitor waits a little sooner
        await attempts.give_back(target.id, address)
    return target.unlocked(stored.url)
