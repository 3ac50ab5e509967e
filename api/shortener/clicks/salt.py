"""The salt of the day for visitor hashes: one per UTC day, shared by every api replica
through Redis, kept in process for the rest of the day.

It lives two days in Redis (a click just before midnight, a replica whose clock is a little
behind) and is written nowhere else: once it has expired, nobody (us included) can tell
which address a hash came from, even by trying every address.
"""

import secrets
from datetime import date

from redis.asyncio import Redis

SALT_SECONDS = 2 * 24 * 3600
SALT_BYTES = 32


def salt_key(day: date) -> str:
    return f"clicks:salt:{day.isoformat()}"


class DailySalt:
    def __init__(self, cache: Redis) -> None:
        self._cache = cache
        self._day: date | None = None
        self._salt = ""

    async def for_day(self, day: date) -> str:
        """The day's salt; asks Redis only on the first click of a day (raises RedisError)."""
        if day != self._day:
            self._salt = await self._shared(day)
            self._day = day
        return self._salt

    async def _shared(self, day: date) -> str:
        # SET NX EX in one command with GET (Redis >= 7): creates the salt if no replica has
        # yet, and otherwise answers with the one that was there first.
        ours = secrets.token_hex(SALT_BYTES)
        theirs = await self._cache.set(salt_key(day), ours, nx=True, ex=SALT_SECONDS, get=True)
        return theirs if theirs is not None else ours
