"""nginx's own limits and errors, seen by a client on 127.0.0.1 (see nginx/nginx.conf).

Every host client reaches the proxy from one address (Docker's published port), so the
whole session shares one rate-limit bucket per zone: the tests that empty a bucket wait
for it to refill before and after, and the others stay far below the limits.
"""

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.logs import logged_with, wait_for
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

# A bucket emptied by a burst refills in burst/rate seconds: 20 at 10/s, 400 at 200/s.
REFILL_SECONDS = 2.5


def assert_proxy_problem(response: httpx.Response, *statuses: int) -> dict:
    """An error nginx made itself: the api's problem shape, plus the request id."""
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == response.status_code
    assert problem["type"].startswith("https://shortener.example/problems/")
    assert problem["title"] and problem["detail"]
    # Quotable: the same id as the header and the access log line.
    assert problem["request_id"] == response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    return problem


def methods(response: httpx.Response) -> set[str]:
    """The methods a 405 names: exactly one Allow header (RFC 9110 15.5.6)."""
    [allow] = response.headers.get_list("allow")
    return {method.strip() for method in allow.split(",")}


@pytest.fixture
def anonymous(stack: Stack) -> Iterator[httpx.Client]:
    """No API key: nginx's limits apply before the api looks at keys."""
    with stack.client() as client:
        yield client


@pytest.fixture
def refilled_buckets() -> Iterator[None]:
    """Start with full buckets and leave them full for the tests that follow."""
    time.sleep(REFILL_SECONDS)
    yield
    time.sleep(REFILL_SECONDS)


def hammer(client: httpx.Client, path: str, count: int) -> list[httpx.Response]:
    return [client.get(path) for _ in range(count)]


def test_api_is_rate_limited_but_redirects_and_health_are_not(
    anonymous: httpx.Client, refilled_buckets: None
) -> None:
    responses = hammer(anonymous, "/api/links/NoSuchLink", 60)
    statuses = [response.status_code for response in responses]
    # A fresh bucket lets a burst through before the limit bites.
    assert 429 not in statuses[:10], statuses
    limited = [response for response in responses if response.status_code == 429]
    assert limited, f"60 quick api requests, none limited: {statuses}"
    for response in limited:
        problem = assert_proxy_problem(response, 429)
        assert problem["type"].endswith("/rate-limited")
        assert response.headers["retry-after"] == "1"

    # The api zone is empty now; redirects have their own, generous zone, and health
    # checks none at all.
    redirects = [response.status_code for response in hammer(anonymous, "/NoSuchCode", 60)]
    assert redirects == [404] * 60, redirects
    health = [response.status_code for response in hammer(anonymous, "/health/live", 60)]
    assert health == [200] * 60, health


# nginx's client_max_body_size: 1m everywhere, 4m for the batch endpoint
# (nginx/includes/limits.conf, nginx.conf). nginx's `m` is 1024 * 1024 bytes, and it
# refuses a Content-Length above the limit, not one equal to it.
MEGABYTE = 1024 * 1024


def json_body(size: int, batch: bool) -> bytes:
    """A valid JSON request body of exactly `size` bytes (padded with whitespace)."""
    link = {"url": "https://example.org/limit"}
    body = json.dumps({"links": [link]} if batch else link).encode()
    return body + b" " * (size - len(body))


def assert_body_limit(stack: Stack, client: httpx.Client, path: str, limit: int) -> None:
    """A body of exactly `limit` bytes reaches the api; one byte more is nginx's 413, and
    the api never sees that request (nginx logs no upstream for it; the api no line)."""
    headers = {"Content-Type": "application/json"}
    over = client.post(path, content=json_body(limit + 1, path.endswith("/batch")), headers=headers)
    at = client.post(path, content=json_body(limit, path.endswith("/batch")), headers=headers)
    refused, accepted = over.headers["x-request-id"], at.headers["x-request-id"]

    # The api answers the one at the limit itself (no key here: its 401). Once its line is
    # in the api's log, a line for the refused request, sent before it, would be too.
    assert at.status_code == 401, (limit, at.status_code, at.text[:200])
    wait_for("api log line", lambda: logged_with(stack, "api", accepted))
    assert not logged_with(stack, "api", refused), f"the api saw the {limit + 1}-byte body"
    [line] = wait_for("nginx log line", lambda: logged_with(stack, "proxy", refused))
    assert (line["status"], line["upstream"]) == (413, ""), line

    problem = assert_proxy_problem(over, 413)
    assert problem["type"].endswith("/request-too-large")


def test_body_over_one_megabyte_is_refused_by_nginx(stack: Stack, anonymous: httpx.Client) -> None:
    assert_body_limit(stack, anonymous, "/api/links", 1 * MEGABYTE)


def test_batch_endpoint_takes_bodies_up_to_four_megabytes(
    stack: Stack, anonymous: httpx.Client
) -> None:
    assert_body_limit(stack, anonymous, "/api/links/batch", 4 * MEGABYTE)


def test_nginx_answers_its_own_404_405_414_as_problems(anonymous: httpx.Client) -> None:
    assert_proxy_problem(anonymous.get("/metrics"), 404)
    assert_proxy_problem(anonymous.get("/static/no-such-file.css"), 404)
    refused = anonymous.post("/")
    assert_proxy_problem(refused, 405)
    assert methods(refused) == {"GET", "HEAD"}
    # Found while parsing the request line, before any location applies.
    assert_proxy_problem(anonymous.get("/" + "a" * 9000), 414)


def test_every_405_names_the_methods_that_would_work(
    anonymous: httpx.Client, refilled_buckets: None
) -> None:
    # The page and its assets: nginx serves them, GET and HEAD only.
    for method, path in (("PUT", "/"), ("DELETE", "/static/app.css"), ("TRACE", "/")):
        response = anonymous.request(method, path)
        assert_proxy_problem(response, 405)
        assert methods(response) == {"GET", "HEAD"}, (method, path)
    # nginx refuses TRACE before any location, on the api's paths too: its Allow must be
    # the api's own, which any other refused method (PUT) gets from the api itself.
    for path in (
        "/health/ready",
        "/NoSuchCode",
        "/api/links",
        "/api/links/batch",
        "/api/links/NoSuchCode",
        "/api/links/NoSuchCode/stats",
        "/api/keys",
        "/api/keys/current",
        "/api/keys/NoSuchKy",
    ):
        by_nginx, by_api = anonymous.request("TRACE", path), anonymous.put(path)
        assert_proxy_problem(by_nginx, 405)
        assert by_api.status_code == 405, (path, by_api.text)
        assert methods(by_nginx) == methods(by_api), path
    # POST: the unlock page's form, for a password-protected link.
    assert methods(anonymous.request("TRACE", "/NoSuchCode")) == {"GET", "HEAD", "POST"}
    # Where nothing is, a refused TRACE is a 404 like any other method's: no 405 there.
    for path in ("/api/no-such-thing", "/metrics"):
        response = anonymous.request("TRACE", path)
        assert_proxy_problem(response, 404)
        assert "allow" not in response.headers


def test_api_problems_pass_through_untouched(anonymous: httpx.Client) -> None:
    response = anonymous.get("/NoSuchCode")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    # The api's own document, not nginx's generic one: errors are not intercepted.
    assert response.json()["type"].endswith("/link-not-found")


def test_api_down_is_a_problem_from_nginx(stack: Stack) -> None:
    stack.compose("stop", "api")
    try:
        with stack.client() as client:
            for path in ("/api/links/x", "/NoSuchCode"):
                problem = assert_proxy_problem(client.get(path), 502, 503, 504)
                assert problem["type"].endswith(("/upstream-unavailable", "/upstream-timeout"))
    finally:
        stack.compose("start", "api")
        stack.wait_healthy("api")
        # nginx may have marked the api failed for a moment: wait until it answers again.
        with stack.client() as client:
            deadline = time.monotonic() + 30
            while (status := client.get("/health/live").status_code) != 200:
                assert time.monotonic() < deadline, f"proxy still answers {status}"
                time.sleep(0.5)


def test_client_cannot_choose_the_address_the_api_sees(stack: Stack) -> None:
    """nginx replaces X-Forwarded-For: a forged value never reaches the api as the client."""
    script = (
        "import urllib.request\n"
        "r = urllib.request.Request('http://proxy:8080/health/live',"
        " headers={'X-Forwarded-For': '203.0.113.9'})\n"
        "response = urllib.request.urlopen(r, timeout=5)\n"
        "print(response.status, response.headers['X-Request-ID'])\n"
    )
    # From inside the api's network namespace (it is on the frontend network): the client
    # address nginx sees, and must pass on, is the api container's own on that network.
    api = stack.container("api")
    status, request_id = stack.exec_in(api, "python", "-c", script).split()
    assert status == "200"
    networks = stack.inspect(api)["NetworkSettings"]["Networks"]
    [client_address] = [
        network["IPAddress"] for name, network in networks.items() if name.endswith("_frontend")
    ]
    # The request is in the api's access log (uvicorn: "ADDRESS:PORT - "GET ..."), with
    # the real address as the client's, and the forged one nowhere.
    [line] = wait_for("api log line", lambda: logged_with(stack, "api", request_id))
    assert line["logger"] == "uvicorn.access", line
    assert line["message"].startswith(f"{client_address}:"), (client_address, line)
    assert "203.0.113.9" not in json.dumps(line)
    access = stack.compose("logs", "--no-color", "--no-log-prefix", "api")
    assert "203.0.113.9" not in access
