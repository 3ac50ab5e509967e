"""Passwords of protected links: argon2id hashes, made and checked off the event loop.

Parameters are OWASP's argon2id recommendation (19 MiB, two passes, one lane): ~20 ms per
hash on our machines, so a check costs a visitor little and a guesser a lot, and
`CONCURRENT_HASHES` bounds the memory a burst of checks can take (the attempt limits in
unlock.py bound the rate). The hash is stored; the password is never kept, logged or
cached, and the hash never leaves Postgres except to be checked here.
"""

import anyio
from anyio.to_thread import run_sync
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 4
# Longer inputs only cost hashing time; no one types a longer link password.
MAX_LENGTH = 128
CONCURRENT_HASHES = 4

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_limiter = anyio.CapacityLimiter(CONCURRENT_HASHES)


async def hash_password(password: str) -> str:
    return await run_sync(_hasher.hash, password, limiter=_limiter)


def _matches(password_hash: str, offered: str) -> bool:
    try:
        return _hasher.verify(password_hash, offered)
    except (VerificationError, InvalidHashError):
        return False


async def password_matches(password_hash: str, offered: str) -> bool:
    """Whether `offered` is the password; anything too long is simply wrong (not hashed)."""
    if not offered or len(offered) > MAX_LENGTH:
        return False
    return await run_sync(_matches, password_hash, offered, limiter=_limiter)
