"""Webhooks on behalf of an API key: the rules between the routes and the tables.

A receiver's URL passes the SSRF guard's checks of its form when the webhook is made
(addresses.py: http(s) only, no credentials, not the shortener itself, no private or
local address literal or name), and the sender checks every address the name resolves to
at each delivery. The signing secret is made here, returned once, kept for the sender.
"""

import base64
import secrets

from psycopg import AsyncConnection

from shortener.backends import Backends
from shortener.links.manage import decode_cursor, encode_cursor
from shortener.problems import Problem, invalid_field
from shortener.settings import Settings
from shortener.webhooks import addresses, store
from shortener.webhooks.models import WebhookCreate
from shortener.webhooks.store import StoredDelivery, StoredWebhook


def new_secret() -> str:
    """A Standard Webhooks signing secret: whsec_ and 24 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def not_found(webhook_id: int) -> Problem:
    return Problem(404, "not-found", f"This key has no webhook {webhook_id}.")


def checked_url(settings: Settings, url: str) -> str:
    """The receiver's URL, normalised, once the SSRF guard accepts its form; else 422 on
    `url`. Names are not resolved here: the api has no route out (and makes no DNS query
    for a name a caller chose); the sender resolves and checks every address at each
    delivery, and records a refusal as the delivery's error."""
    try:
        target = addresses.check_url(
            url, own_hosts=settings.public_hosts, allowed_networks=settings.allowed_webhook_networks
        )
    except addresses.AddressRefused as refused:
        raise invalid_field("url", str(refused)) from None
    return target.url


async def create_webhook(
    backends: Backends, settings: Settings, owner_id: int, request: WebhookCreate
) -> tuple[StoredWebhook, str]:
    url = checked_url(settings, request.url)
    secret = new_secret()
    events = sorted(set(request.events))
    codes = sorted(set(request.codes)) if request.codes else None
    async with backends.database.connection() as conn, conn.transaction():
        await _lock_owner(conn, owner_id)  # two creates at once cannot both pass the limit
        if await store.count_webhooks(conn, owner_id) >= settings.webhooks_per_key:
            raise Problem(
                409,
                "webhook-limit",
                f"This key has {settings.webhooks_per_key} webhooks, as many as it may: "
                "delete one first.",
            )
        webhook = await store.insert_webhook(conn, owner_id, url, events, codes, secret)
    return webhook, secret


async def _lock_owner(conn: AsyncConnection, owner_id: int) -> None:
    await conn.execute("SELECT 1 FROM api_keys WHERE id = %s FOR UPDATE", (owner_id,))


async def list_webhooks(backends: Backends, owner_id: int) -> list[StoredWebhook]:
    async with backends.database.connection() as conn:
        return await store.list_webhooks(conn, owner_id)


async def read_webhook(backends: Backends, owner_id: int, webhook_id: int) -> StoredWebhook:
    async with backends.database.connection() as conn:
        webhook = await store.find_webhook(conn, owner_id, webhook_id)
    if webhook is None:
        raise not_found(webhook_id)
    return webhook


async def delete_webhook(backends: Backends, owner_id: int, webhook_id: int) -> None:
    async with backends.database.connection() as conn:
        if not await store.delete_webhook(conn, owner_id, webhook_id):
            raise not_found(webhook_id)


async def enable_webhook(backends: Backends, owner_id: int, webhook_id: int) -> StoredWebhook:
    async with backends.database.connection() as conn:
        webhook = await store.enable_webhook(conn, owner_id, webhook_id)
    if webhook is None:
        raise not_found(webhook_id)
    return webhook


async def deliveries(
    backends: Backends, owner_id: int, webhook_id: int, cursor: str | None, limit: int
) -> tuple[list[StoredDelivery], str | None]:
    before = decode_cursor(cursor) if cursor else None
    async with backends.database.connection() as conn:
        if await store.find_webhook(conn, owner_id, webhook_id) is None:
            raise not_found(webhook_id)
        rows = await store.delivery_page(
            conn, owner_id, webhook_id, before_id=before, limit=limit + 1
        )
    page = rows[:limit]
    return page, encode_cursor(page[-1].id) if len(rows) > limit else None


async def retry(
    backends: Backends, owner_id: int, webhook_id: int, delivery_id: int
) -> StoredDelivery:
    async with backends.database.connection() as conn:
        delivery = await store.retry_delivery(conn, owner_id, webhook_id, delivery_id)
    if delivery is None:
        raise Problem(
            404,
            "not-found",
            f"Webhook {webhook_id} of this key has no undelivered delivery {delivery_id}.",
        )
    return delivery
