"""The webhook API: /api/webhooks (docs/events.md, docs/api.md "Webhooks"). Thin: each
route parses, calls one function of manage.py, shapes the reply."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from shortener.dependencies import BackendsDep, SettingsDep, require_json
from shortener.keys.auth import AUTH_ERRORS, WebhooksKey
from shortener.problems import problem_doc
from shortener.webhooks import manage
from shortener.webhooks.models import (
    Delivery,
    DeliveryPage,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
)

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
NOT_FOUND = {404: problem_doc("No such webhook (or delivery) for this key")}
INVALID = {422: problem_doc("Invalid fields, each named in `errors`")}
BODY_ERRORS = {
    400: problem_doc("The body cannot be decoded"),
    415: problem_doc("The body is not `application/json`"),
}
WebhookId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post(
    "",
    status_code=201,
    summary="Subscribe a URL to your links' events; the signing secret is shown once",
    dependencies=[Depends(require_json)],
    responses={
        **AUTH_ERRORS,
        **BODY_ERRORS,
        **INVALID,
        409: problem_doc("This key has as many webhooks as it may"),
    },
)
async def create_webhook(
    body: WebhookCreate, owner: WebhooksKey, backends: BackendsDep, settings: SettingsDep
) -> WebhookCreated:
    webhook, secret = await manage.create_webhook(backends, settings, owner, body)
    return WebhookCreated(**asdict(webhook), secret=secret)


@router.get("", summary="Your webhooks", responses={**AUTH_ERRORS})
async def list_webhooks(owner: WebhooksKey, backends: BackendsDep) -> WebhookList:
    webhooks = await manage.list_webhooks(backends, owner)
    return WebhookList(items=[Webhook(**asdict(webhook)) for webhook in webhooks])


@router.get(
    "/{webhook_id}", summary="One webhook", responses={**AUTH_ERRORS, **NOT_FOUND, **INVALID}
)
async def read_webhook(webhook_id: WebhookId, owner: WebhooksKey, backends: BackendsDep) -> Webhook:
    return Webhook(**asdict(await manage.read_webhook(backends, owner, webhook_id)))


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Delete a webhook; its pending deliveries are not sent",
    responses={**AUTH_ERRORS, **NOT_FOUND, **INVALID},
)
async def delete_webhook(
    webhook_id: WebhookId, owner: WebhooksKey, backends: BackendsDep
) -> Response:
    await manage.delete_webhook(backends, owner, webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/enable",
    summary="Enable a webhook disabled after failures; its pending deliveries resume",
    responses={**AUTH_ERRORS, **NOT_FOUND, **INVALID},
)
async def enable_webhook(
    webhook_id: WebhookId, owner: WebhooksKey, backends: BackendsDep
) -> Webhook:
    return Webhook(**asdict(await manage.enable_webhook(backends, owner, webhook_id)))


@router.get(
    "/{webhook_id}/deliveries",
    summary="A webhook's deliveries, newest first: status, attempts, last error, next attempt",
    responses={**AUTH_ERRORS, **NOT_FOUND, **INVALID},
)
async def list_deliveries(
    webhook_id: WebhookId,
    owner: WebhooksKey,
    backends: BackendsDep,
    cursor: Annotated[str | None, Query(max_length=64, description="From `next_cursor`.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DeliveryPage:
    page, next_cursor = await manage.deliveries(backends, owner, webhook_id, cursor, limit)
    return DeliveryPage(
        items=[Delivery(**asdict(delivery)) for delivery in page], next_cursor=next_cursor
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    summary="Send a failed delivery again now",
    responses={**AUTH_ERRORS, **NOT_FOUND, **INVALID},
)
async def retry_delivery(
    webhook_id: WebhookId,
    delivery_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    owner: WebhooksKey,
    backends: BackendsDep,
) -> Delivery:
    return Delivery(**asdict(await manage.retry(backends, owner, webhook_id, delivery_id)))
