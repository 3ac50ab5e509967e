"""Helpers for the abuse tests (test_bad_input.py, test_access.py): a client that waits out
nginx's rate limit, and assertions on problem documents and on what the database holds."""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.e2e.stack import Stack

PROBLEM = "application/problem+json"
# nginx's limit for /api/*: 10/s with a burst of 20 (nginx/includes/limits.conf), shared
# by the session.
RATE_LIMIT_WAIT_SECONDS = 1.0
RATE_LIMIT_RETRIES = 30


class PatientTransport(httpx.HTTPTransport):
    """Sends a request again after nginx's own 429 (never after the api's quota 429).

    Every host client shares one rate-limit bucket, and these tables send more than one
    burst: the limit is proven elsewhere (test_proxy_limits.py), here it only gets in the way.
    """

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(RATE_LIMIT_RETRIES):
            response = super().handle_request(request)
            if response.status_code != 429:
                return response
            response.read()
            if not response.text.count("/problems/rate-limited"):
                return response
            response.close()
            time.sleep(RATE_LIMIT_WAIT_SECONDS)
        return response


@contextmanager
def patient_client(stack: Stack, key: str | None = None) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(
        base_url=stack.base_url,
        transport=PatientTransport(),
        headers=headers,
        follow_redirects=False,
        timeout=15,
    ) as client:
        yield client


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    """An RFC 9457 document with this status; with `field`, a 422 naming exactly it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM, response.headers
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("https://shortener.example/problems/")
    assert problem["title"] and problem["detail"]
    if field is not None:
        assert [error["field"] for error in problem["errors"]] == [field], problem
    return problem


def post_json(client: httpx.Client, path: str, document: object) -> httpx.Response:
    """POST a JSON document written with escapes, so lone surrogates and controls survive."""
    body = json.dumps(document, ensure_ascii=True)
    return client.post(path, content=body, headers={"Content-Type": "application/json"})


def count_links(stack: Stack) -> int:
    return int(stack.sql("SELECT count(*) FROM shortener.links"))


def stored_url(stack: Stack, code: str) -> str | None:
    url = stack.sql("SELECT url FROM shortener.links WHERE code = :'code'", code=code)
    return url or None
