"""The link API's request and response bodies (what OpenAPI documents)."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shortener.links.codes import ALIAS_PATTERN
from shortener.links.passwords import MAX_LENGTH as PASSWORD_MAX
from shortener.links.passwords import MIN_LENGTH as PASSWORD_MIN
from shortener.links.targets import MAX_URL_LENGTH
from shortener.timestamps import Timestamp

RedirectType = Literal[301, 302, 307, 308]
# Paths the proxy or the api route themselves: an alias may never shadow one (compared
# without regard to case, so that no alias even looks like one).
RESERVED_ALIASES = frozenset(
    {"api", "health", "metrics", "docs", "static", "favicon.ico", "robots.txt", "nginx-health"}
    # /api/links/batch is an endpoint: an alias "batch" would be unreachable by the API.
    | {"batch"}
)
MAX_VISITS_LIMIT = 2**31 - 1
BATCH_LIMIT = 1000

EXAMPLE_URL = "https://example.org/a/long/path?with=query"


# Strict where pydantic's lax mode would accept what the schema calls invalid: 0 or "yes"
# for a boolean, "10" for an integer (schemathesis' negative-data check holds us to it);
# a number for `expires_at` (Timestamp, shortener/timestamps.py).
StrictFlag = Annotated[bool, Field(strict=True)]


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


class LinkUpdate(BaseModel):
    """Only the fields present change; `expires_at`, `max_visits` and `password` may be null
    to clear."""

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

    @field_validator("expires_at")
    @classmethod
    def _expiry_in_future(cls, expires_at: datetime | None) -> datetime | None:
        return _future(expires_at)


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
        "or its hash), allow_indexing."
    )


class HistoryPage(BaseModel):
    items: list[LinkEventOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page."
    )
