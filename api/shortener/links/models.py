"""The link API's request and response bodies."""

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from shortener.links.targets import MAX_URL_LENGTH, check_target_url


class LinkCreate(BaseModel):
    # The cap is applied again after normalising; this one stops huge bodies early.
    url: str = Field(max_length=MAX_URL_LENGTH + 64, examples=["https://example.org/page"])
    expires_at: AwareDatetime | None = Field(
        None, description="When the link stops redirecting (RFC 3339 with a time zone)."
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        return check_target_url(url)

    @field_validator("expires_at")
    @classmethod
    def _check_expiry(cls, expires_at: datetime | None) -> datetime | None:
        if expires_at is not None and expires_at <= datetime.now(UTC):
            raise ValueError("must be in the future")
        return expires_at


class Link(BaseModel):
    code: str
    short_url: str
    url: str
    created_at: datetime
    expires_at: datetime | None
