"""What a key may do: five scopes, each route declares the one it needs (keys/auth.py).

The set is also written in migration 0007's CHECK; a unit test keeps the two equal.
"""

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class Scope(StrEnum):
    LINKS_READ = "links:read"  # list, read, history and QR code of links
    LINKS_WRITE = "links:write"  # create, batch create, change, delete links
    STATS_READ = "stats:read"  # a link's click statistics
    WEBHOOKS = "webhooks"  # every /api/webhooks route
    KEYS_ADMIN = "keys:admin"  # list, create and revoke keys


ALL_SCOPES = frozenset(Scope)
ALL_SCOPES_IN_ORDER = tuple(scope.value for scope in Scope)


def parse_scopes(text: str) -> frozenset[Scope]:
    """`links:read,stats:read` -> those scopes; an unknown or empty one is a ValueError."""
    names = [name.strip() for name in text.split(",")]
    if not any(names):
        raise ValueError("name at least one scope")
    unknown = sorted({name for name in names if name not in ALL_SCOPES_IN_ORDER})
    if unknown:
        known = ", ".join(ALL_SCOPES_IN_ORDER)
        raise ValueError(f"unknown scope {', '.join(map(repr, unknown))}; known: {known}")
    return frozenset(Scope(name) for name in names)


_RELATIVE = re.compile(r"([1-9][0-9]{0,4})([dh])")


def parse_expiry(text: str, now: datetime | None = None) -> datetime:
    """`30d`, `12h`, or an RFC 3339 instant with its offset -> an aware datetime in the
    future (the CLI's `--expires`)."""
    now = now or datetime.now(UTC)
    relative = _RELATIVE.fullmatch(text.strip())
    if relative:
        amount, unit = int(relative[1]), relative[2]
        return now + (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (30d, 12h) nor a date-time (2027-01-01T00:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: end it with Z or +hh:mm")
    if moment <= now:
        raise ValueError(f"{text!r} is in the past")
    return moment
