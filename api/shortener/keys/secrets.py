"""Key material: generation, hashing and the display prefix.

A key's shape is key_format.py's. The database keeps only its SHA-256 and the first
characters after `shk_` (the prefix people use to name a key).
"""

import hashlib
import secrets

from shortener.key_format import KEY_MARKER, PREFIX_LENGTH


def new_key() -> str:
    return KEY_MARKER + secrets.token_urlsafe(32)


def key_prefix(key: str) -> str | None:
    """The display prefix of a well-formed key, or None for anything else."""
    if not key.startswith(KEY_MARKER) or len(key) < len(KEY_MARKER) + PREFIX_LENGTH + 16:
        return None
    return key[len(KEY_MARKER) : len(KEY_MARKER) + PREFIX_LENGTH]


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()
