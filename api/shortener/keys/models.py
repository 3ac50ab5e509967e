"""The key API's request and response bodies (what OpenAPI documents)."""

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shortener.keys.scopes import Scope
from shortener.timestamps import Timestamp

# What the database's CHECK allows (migration 0002), without control characters: a name
# is printed by `make keys`, one line per key.
NAME_PATTERN = r"^[^\x00-\x1f\x7f]{1,100}$"


class KeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "dashboard (read only)", "scopes": ["links:read", "stats:read"]},
                {
                    "name": "ci deploys",
                    "scopes": ["links:write"],
                    "expires_at": "2030-01-01T00:00:00Z",
                },
            ]
        },
    )

    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    scopes: list[Scope] = Field(
        min_length=1,
        max_length=len(Scope),
        description="What the new key may do: some of the scopes of the key making it.",
    )
    expires_at: Timestamp | None = Field(
        None,
        description=(
            "When the key stops working, RFC 3339 with zone; not after the making key's own "
            "expiry. Absent: never, or the making key's expiry if it has one."
        ),
    )

    @field_validator("expires_at")
    @classmethod
    def _in_future(cls, expires_at: datetime | None) -> datetime | None:
        if expires_at is not None and expires_at <= datetime.now(UTC):
            raise ValueError("must be in the future")
        return expires_at


class Key(BaseModel):
    """A key as listed: never the key, never its hash."""

    prefix: str = Field(description="The key's first 8 characters after `shk_`.")
    name: str
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="Updated at most about once a minute.")


class KeyCreated(Key):
    key: str = Field(description="The key itself: shown in this answer only, never again.")


class KeyList(BaseModel):
    items: list[Key]


class CurrentKey(BaseModel):
    """The key making the request: what a page needs to know what to offer."""

    prefix: str
    name: str
    scopes: list[Scope]
    expires_at: datetime | None
