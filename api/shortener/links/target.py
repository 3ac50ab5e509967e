"""What a redirect needs to know about a code, and what a cache can say of it.

`CacheAnswer` is the one type every lookup answers with: a `Target`, or a `NoTarget`
saying why there is none. Callers `match` on it; there are no other markers.
"""

import json
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import TypeAlias

from shortener.links.store import StoredLink


@dataclass(frozen=True, slots=True)
class Target:
    """What a redirect needs to know about a link; cached in Redis and in each process,
    so it stays small (anything else a rule needs is read when the rule applies)."""

    id: int
    url: str
    expires_at: datetime | None
    redirect_type: int
    forward_query: bool
    # Has max_visits: every person's visit is counted in Postgres, never answered from a
    # cache alone.
    limited: bool
    # A password protects it: `url` is then empty (no cache holds a protected target; the
    # unlock reads it from Postgres with the hash: redirects/unlock.py).
    protected: bool = False
    # The owner lets search engines index the redirect (no `X-Robots-Tag: noindex`).
    indexable: bool = False

    @classmethod
    def of(cls, link: StoredLink) -> "Target":
        return cls(
            link.id,
            "" if link.protected else link.url,
            link.expires_at,
            link.redirect_type,
            link.forward_query,
            link.max_visits is not None,
            link.protected,
            link.allow_indexing,
        )

    def unlocked(self, url: str) -> "Target":
        """This protected link, its password given: followed like any other from here."""
        return replace(self, url=url, protected=False)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def encode(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "url": self.url,
                "expires_at": self.expires_at.isoformat() if self.expires_at else None,
                "redirect_type": self.redirect_type,
                "forward_query": self.forward_query,
                "limited": self.limited,
                "protected": self.protected,
                "indexable": self.indexable,
            }
        )

    @classmethod
    def decode(cls, raw: str) -> "Target":
        data = json.loads(raw)
        expires = data["expires_at"]
        return cls(
            data["id"],
            data["url"],
            datetime.fromisoformat(expires) if expires else None,
            data["redirect_type"],
            data["forward_query"],
            data["limited"],
            # Absent from entries an older version cached (a rolling update): its defaults.
            data.get("protected", False),
            data.get("indexable", False),
        )


class NoTarget(Enum):
    """Why a lookup has no target for a code."""

    NO_LINK = "no such link"  # known: no link has the code (cached, or Postgres said so)
    NOT_CACHED = "not cached"  # no cache has the code: Postgres must be asked
    CACHE_DOWN = "cache unreachable"  # the Redis read failed: ask Postgres, fill no Redis


CacheAnswer: TypeAlias = Target | NoTarget
