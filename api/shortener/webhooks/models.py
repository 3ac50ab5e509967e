"""The webhook API's request and response bodies (what OpenAPI documents)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shortener.links.codes import CODE_PATTERN

EventName = Literal["link.created", "link.updated", "link.deleted", "link.clicked"]
MAX_CODES = 100
MAX_URL_LENGTH = 2048


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"url": "https://hooks.example.org/shortener", "events": ["link.clicked"]},
                {
                    "url": "https://hooks.example.org/shortener",
                    "events": ["link.created", "link.updated", "link.deleted"],
                    "codes": ["spring-sale"],
                },
            ]
        },
    )

    url: str = Field(max_length=MAX_URL_LENGTH, description="An https (or http) URL.")
    events: list[EventName] = Field(min_length=1, max_length=4)
    codes: list[Annotated[str, Field(pattern=f"^{CODE_PATTERN.pattern}$")]] | None = Field(
        None,
        min_length=1,
        max_length=MAX_CODES,
        description="Only these links' events; absent: every link of the key.",
    )


class Webhook(BaseModel):
    id: int
    url: str
    events: list[EventName]
    codes: list[str] | None
    created_at: datetime
    consecutive_failures: int = Field(description="Failed deliveries in a row (0 after one).")
    disabled_at: datetime | None = Field(
        description="Set after too many failures in a row: no delivery is made until enabled."
    )
    disabled_reason: str | None


class WebhookCreated(Webhook):
    secret: str = Field(
        description="The signing secret (Standard Webhooks, whsec_...). Shown this once."
    )


class WebhookList(BaseModel):
    items: list[Webhook]


class Delivery(BaseModel):
    id: int
    message_id: str = Field(description="The webhook-id header: the same on every attempt.")
    event: EventName
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="When it is tried next (pending).")
    last_status: int | None = Field(description="The receiver's last HTTP status, if any.")
    last_error: str | None
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[Delivery]
    next_cursor: str | None
