"""The webhook API (/api/webhooks; api/shortener/webhooks/), in-process against real
Postgres and Redis: subscriptions scoped to their key, the secret shown once, receivers
that are private, loopback, link-local, metadata or the shortener itself refused."""

import httpx
import psycopg
import pytest

from shortener.keys.store import create_key
from tests.integration.containers import APP, Postgres

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

RECEIVER = "https://93.184.215.14/hooks"  # a public address: no DNS needed


async def create(client: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await client.post(
        "/api/webhooks", json={"url": RECEIVER, "events": ["link.created"], **body}
    )


async def test_a_webhook_is_made_listed_read_and_deleted_and_its_secret_shown_once(
    client: httpx.AsyncClient,
) -> None:
    made = await create(client, events=["link.created", "link.clicked"], codes=["abc"])
    assert made.status_code == 201, made.text
    webhook = made.json()
    assert webhook["secret"].startswith("whsec_")
    assert webhook["events"] == ["link.clicked", "link.created"]
    assert webhook["codes"] == ["abc"]
    listed = (await client.get("/api/webhooks")).json()["items"]
    assert [item["id"] for item in listed] == [webhook["id"]]
    assert "secret" not in listed[0]
    read = (await client.get(f"/api/webhooks/{webhook['id']}")).json()
    assert "secret" not in read and read["disabled_at"] is None
    assert (await client.delete(f"/api/webhooks/{webhook['id']}")).status_code == 204
    assert (await client.get(f"/api/webhooks/{webhook['id']}")).status_code == 404


async def test_another_keys_webhooks_do_not_exist_for_it(
    client: httpx.AsyncClient, postgres: Postgres
) -> None:
    webhook = (await create(client)).json()
    with postgres.connect(APP) as conn:
        _, other = create_key(conn, "other")
    headers = {"Authorization": f"Bearer {other}"}
    for method, path in (
        ("GET", f"/api/webhooks/{webhook['id']}"),
        ("DELETE", f"/api/webhooks/{webhook['id']}"),
        ("GET", f"/api/webhooks/{webhook['id']}/deliveries"),
        ("POST", f"/api/webhooks/{webhook['id']}/enable"),
    ):
        reply = await client.request(method, path, headers=headers)
        assert reply.status_code == 404, (method, path, reply.text)
    assert (await client.get("/api/webhooks", headers=headers)).json()["items"] == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/x", "loopback"),
        ("http://localhost/x", "localhost"),
        ("http://10.1.2.3/x", "private"),
        ("http://172.16.0.9/x", "private"),
        ("http://192.168.1.1/x", "private"),
        ("http://169.254.169.254/latest/meta-data", "metadata"),
        ("http://[::1]/x", "loopback"),
        ("http://[fd00::1]/x", "private"),
        ("http://[::ffff:127.0.0.1]/x", "mapped loopback"),
        ("http://100.64.0.1/x", "carrier-grade NAT"),
        ("http://0.0.0.0/x", "unspecified"),
        ("https://user:pw@93.184.215.14/x", "credentials"),
        ("ftp://93.184.215.14/x", "scheme"),
        ("http://sho.rt/x", "the shortener itself"),
    ],
)
async def test_receivers_the_ssrf_guard_refuses(
    client: httpx.AsyncClient, url: str, why: str
) -> None:
    reply = await create(client, url=url)
    assert reply.status_code == 422, (why, reply.text)
    assert reply.json()["errors"][0]["field"] == "url", why


async def test_bad_fields_are_named(client: httpx.AsyncClient) -> None:
    for body, field in (
        ({"events": []}, "events"),
        ({"events": ["link.visited"]}, "events"),
        ({"codes": ["no spaces"]}, "codes"),
    ):
        reply = await create(client, **body)
        assert reply.status_code == 422, body
        assert reply.json()["errors"][0]["field"].startswith(field), reply.text


async def test_a_key_may_have_ten_webhooks(client: httpx.AsyncClient) -> None:
    for _ in range(10):
        assert (await create(client)).status_code == 201
    refused = await create(client)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("webhook-limit")


async def test_deliveries_are_listed_and_a_failed_one_retried(
    client: httpx.AsyncClient, app_db: psycopg.Connection
) -> None:
    webhook = (await create(client)).json()
    code = (await client.post("/api/links", json={"url": "https://example.org/d"})).json()["code"]
    (delivery,) = (await client.get(f"/api/webhooks/{webhook['id']}/deliveries")).json()["items"]
    assert delivery["event"] == "link.created" and delivery["status"] == "pending"
    assert delivery["message_id"].startswith("msg_link_")
    app_db.execute(
        "UPDATE webhook_deliveries SET status = 'failed', attempts = 12, last_error = 'HTTP 500'"
    )
    retried = await client.post(f"/api/webhooks/{webhook['id']}/deliveries/{delivery['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending" and retried.json()["attempts"] == 0
    assert code
