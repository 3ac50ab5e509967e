"""The link API's request and response bodies (what OpenAPI documents)."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shortener.links.codes import ALIAS_PATTERN, CODE_PATTERN
from shortener.links.passwords import MAX_LENGTH as PASSWORD_MAX
from shortener.links.passwords import MIN_LENGTH as PASSWORD_MIN
from shortener.links.targets import MAX_URL_LENGTH
from shortener.tags.names import MAX_TAGS, InvalidTag, normalise_tag, normalise_tags
from shortener.timestamps import Timestamp

RedirectType = Literal[301, 302, 307, 308]
# Paths the proxy or the api route themselves: an alias may never shadow one (compared
# without regard to case, so that no alias even looks like one).
RESERVED_ALIASES = frozenset(
    {"api", "health", "metrics", "docs", "static", "favicon.ico", "robots.txt", "nginx-health"}
    # /api/links/batch, /api/links/bulk-delete and /api/links/export are endpoints: an
    # alias "batch" would be unreachable by the API.
    | {"batch", "bulk-delete", "export"}
)
MAX_VISITS_LIMIT = 2**31 - 1
BATCH_LIMIT = 1000

EXAMPLE_URL = "https://example.org/a/long/path?with=query"


# Strict where pydantic's lax mode would accept what the schema calls invalid: 0 or "yes"
# for a boolean, "10" for an integer (schemathesis' negative-data check holds us to it);
# a number for `expires_at` (Timestamp, shortener/timestamps.py).
StrictFlag = Annotated[bool, Field(strict=True)]
# As sent: normalised (tags/names.py) by the validators below, where a duplicate counts
# once; the raw list is bounded so that a huge body is refused before any work.
RawTags = Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=10 * MAX_TAGS)]
TAGS_DESCRIPTION = (
    "Up to 10 tags, each 1-32 of a-z 0-9 - _ . : after normalising (trimmed, lower case, "
    "inner whitespace as '-'); duplicates count once."
)


def _normalised_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    try:
        return normalise_tags(tags)
    except InvalidTag as invalid:
        raise ValueError(str(invalid)) from None


def _future(expires_at: datetime | None) -> datetime | None:
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise ValueError("must be in the future")
    return expires_at


class LinkCreate(BaseModel):
    # Unknown fields are refused, so a misspelt option is an error, not silently ignored.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"url": EXAMPLE_URL},
                {
                    "url": EXAMPLE_URL,
                    "alias": "spring-sale",
                    "expires_at": "2030-01-01T00:00:00Z",
                    "max_visits": 1000,
                    "redirect_type": 301,
                    "forward_query": True,
                },
                {"url": EXAMPLE_URL, "password": "open sesame"},
            ]
        },
    )

    # The target's own rules (scheme, host, length...) are applied by the normaliser.
    url: str = Field(max_length=MAX_URL_LENGTH * 2, description="The http(s) URL to shorten.")
    alias: str | None = Field(
        None, pattern=ALIAS_PATTERN, description="A custom code instead of a random one."
    )
    expires_at: Timestamp | None = Field(
        None, description="When the link stops redirecting (410 after), RFC 3339 with zone."
    )
    max_visits: int | None = Field(
        None,
        ge=1,
        le=MAX_VISITS_LIMIT,
        strict=True,
        description="Redirects allowed before 410 Gone.",
    )
    redirect_type: RedirectType = Field(302, description="HTTP status of the redirect.")
    forward_query: StrictFlag = Field(
        False, description="Append the short URL's query string to the target."
    )
    find_if_exists: StrictFlag = Field(
        False,
        description="Return your existing link to the same URL instead of a new one "
        "(never a protected one; a request with a password always creates).",
    )
    password: str | None = Field(
        None,
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        description="Protect the link: visitors must give this password (stored as an "
        "argon2id hash, never shown again).",
    )
    allow_indexing: StrictFlag = Field(
        False,
        description="Let search engines index the redirect (otherwise it says "
        "`X-Robots-Tag: noindex`).",
    )
    tags: RawTags = Field(default_factory=list, description=TAGS_DESCRIPTION)

    @field_validator("alias")
    @classmethod
    def _not_reserved(cls, alias: str | None) -> str | None:
        if alias is not None and alias.lower() in RESERVED_ALIASES:
            raise ValueError(f"{alias!r} is reserved for the service's own paths")
        return alias

    @field_validator("expires_at")
    @classmethod
    def _expiry_in_future(cls, expires_at: datetime | None) -> datetime | None:
        return _future(expires_at)

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        return _normalised_tags(tags) or []


class LinkUpdate(BaseModel):
    """Only the fields present change; `expires_at`, `max_visits`, `password` and `tags` may
    be null to clear. `tags` replaces the link's whole set."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"url": EXAMPLE_URL, "expires_at": None}]},
    )

    # Absent means unchanged. `url`, `redirect_type` and `forward_query` cannot be null (the
    # schema says so: their types are not nullable); `expires_at` and `max_visits` can.
    url: str = Field(None, max_length=MAX_URL_LENGTH * 2)  # type: ignore[assignment]
    expires_at: Timestamp | None = None
    max_visits: int | None = Field(None, ge=1, le=MAX_VISITS_LIMIT, strict=True)
    redirect_type: RedirectType = None  # type: ignore[assignment]
    forward_query: StrictFlag = None  # type: ignore[assignment]
    password: str | None = Field(
        None,
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        description="A new password; null removes the protection.",
    )
    allow_indexing: StrictFlag = None  # type: ignore[assignment]
    tags: RawTags | None = Field(None, description=TAGS_DESCRIPTION + " Null: none.")

    @field_validator("expires_at")
    @classmethod
    def _expiry_in_future(cls, expires_at: datetime | None) -> datetime | None:
        return _future(expires_at)

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str] | None) -> list[str] | None:
        return _normalised_tags(tags)


class Link(BaseModel):
    code: str = Field(examples=["aB3dE9x"])
    short_url: str = Field(examples=["https://sho.rt/aB3dE9x"])
    url: str = Field(examples=[EXAMPLE_URL])
    alias: bool = Field(description="True when the code was chosen by the caller.")
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    max_visits: int | None
    visits: int = Field(
        description="Redirects counted by the click analytics (ingested within seconds)."
    )
    redirect_type: RedirectType
    forward_query: bool
    protected: bool = Field(description="A password protects the link (never shown).")
    allow_indexing: bool
    tags: list[str] = Field(description="Normalised, sorted.", examples=[["sale", "spring"]])


class LinkPage(BaseModel):
    items: list[Link]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page."
    )


class BatchCreate(BaseModel):
    """Each item is validated on its own, so one bad item does not reject the others."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"links": [{"url": EXAMPLE_URL}, {"url": EXAMPLE_URL, "alias": "x-1"}]}]
        },
    )

    links: list[dict[str, Any]] = Field(min_length=1, max_length=BATCH_LIMIT)


class BatchItem(BaseModel):
    index: int
    status: int = Field(description="201 created, 200 existing (find_if_exists), or 4xx.")
    link: Link | None = None
    problem: dict[str, Any] | None = Field(None, description="The item's problem details.")


class BatchResult(BaseModel):
    created: int
    failed: int
    results: list[BatchItem]


class FieldChange(BaseModel):
    old: Any = Field(description="The value before (null: none, as on a create).")
    new: Any = Field(description="The value after (null: none, as on a delete).")


class LinkEventOut(BaseModel):
    id: int = Field(description="Increases with every event: the order of changes.")
    event: Literal["link.created", "link.updated", "link.deleted"]
    code: str
    occurred_at: datetime
    key_prefix: str | None = Field(
        description="The prefix of the key that made the change; null for the system's own "
        "(an expired link purged)."
    )
    request_id: str = Field(description="The request that made it (X-Request-ID), if any.")
    changes: dict[str, FieldChange] = Field(
        description="Each field that changed: url, expires_at, max_visits, redirect_type, "
        "forward_query, protected, password_set_at (a new password; never the password "
        "or its hash), allow_indexing, tags."
    )


class HistoryPage(BaseModel):
    items: list[LinkEventOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page."
    )


BULK_CODES_LIMIT = 10_000


class BulkDelete(BaseModel):
    """Exactly one of `tag` and `codes`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"tag": "spring-sale"}, {"codes": ["aB3dE9x", "x-1"]}]},
    )

    tag: str | None = Field(
        None, max_length=100, description="Delete every link of yours with this tag."
    )
    codes: list[Annotated[str, Field(pattern=f"^{CODE_PATTERN.pattern}$")]] | None = Field(
        None,
        min_length=1,
        max_length=BULK_CODES_LIMIT,
        description="Delete these links of yours (codes of no link of yours are skipped).",
    )

    @field_validator("tag")
    @classmethod
    def _tag(cls, tag: str | None) -> str | None:
        if tag is None:
            return None
        try:
            return normalise_tag(tag)
        except InvalidTag as invalid:
            raise ValueError(str(invalid)) from None

    @model_validator(mode="after")
    def _one_selection(self) -> "BulkDelete":
        if (self.tag is None) == (self.codes is None):
            raise ValueError("give exactly one of `tag` and `codes`")
        return self


class BulkDeleted(BaseModel):
    deleted: int = Field(description="Links deleted (in the request: at most 1000).")
