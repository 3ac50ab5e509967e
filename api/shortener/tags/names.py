"""What a tag may be, and the one spelling each tag is stored under.

Normalisation (docs/api.md, "Tags"): surrounding whitespace trimmed, lower case, every run
of inner whitespace one "-". What is left must be 1-32 characters of `a-z`, `0-9`, `-`,
`_`, `.` and `:`, starting with a letter or digit (so that no tag is "." or ".." in a
path, /api/tags/{tag}). A link has at most 10 tags: duplicates (after normalising) count
once, and a set is kept sorted, so equal sets are equal arrays in the database.
"""

import re
from collections.abc import Iterable

MAX_TAGS = 10
MAX_TAG_LENGTH = 32
TAG_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,31}")
_WHITESPACE = re.compile(r"\s+")


class InvalidTag(ValueError):
    """A tag that no normalisation makes valid; the message says why."""


def normalise_tag(raw: str) -> str:
    name = _WHITESPACE.sub("-", raw.strip().lower())
    if not name:
        raise InvalidTag("a tag must not be empty")
    if len(name) > MAX_TAG_LENGTH:
        raise InvalidTag(f"{raw!r}: a tag has at most {MAX_TAG_LENGTH} characters")
    if not TAG_PATTERN.fullmatch(name):
        raise InvalidTag(
            f"{raw!r}: a tag is a-z, 0-9, '-', '_', '.' and ':', starting with a letter or digit"
        )
    return name


def normalise_tags(raw: Iterable[str]) -> list[str]:
    """The stored form of a link's tags: normalised, without duplicates, sorted."""
    tags = sorted({normalise_tag(tag) for tag in raw})
    if len(tags) > MAX_TAGS:
        raise InvalidTag(f"a link has at most {MAX_TAGS} tags")
    return tags
