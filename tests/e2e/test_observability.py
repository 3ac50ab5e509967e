"""Observability of the whole stack: one request id from nginx to the click's row, and the
Prometheus metrics of the api and the worker, read on the backend network only."""

import http.client
import json
import re
import secrets
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.logs import json_lines, logged_with, wait_for
from tests.e2e.stack import BASE_FILE, Stack, run
from tests.e2e.test_practices import probe

pytestmark = pytest.mark.e2e

NGINX_REQUEST_ID = re.compile(r"[0-9a-f]{32}")


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_one_request_id_from_nginx_to_the_api_logs_and_the_stored_click(
    client: httpx.Client, stack: Stack
) -> None:
    response = client.post("/api/links", json={"url": "https://example.org/observed"})
    assert response.status_code == 201, response.text
    code = response.json()["code"]
    agent = f"observability-check/{secrets.token_hex(4)}"

    # A client's own X-Request-ID is not trusted: nginx sends its own to the api.
    redirect = client.get(f"/{code}", headers={"User-Agent": agent, "X-Request-ID": "mine"})
    assert redirect.status_code == 302
    # Once: nginx adds it; the api does not echo the id it received.
    [request_id] = redirect.headers.get_list("x-request-id")
    assert NGINX_REQUEST_ID.fullmatch(request_id)

    [access] = wait_for("nginx log line", lambda: logged_with(stack, "proxy", request_id))
    assert access["uri"] == f"/{code}"
    assert access["user_agent"] == agent
    assert access["status"] == 302

    api_lines = wait_for("api log line", lambda: logged_with(stack, "api", request_id))
    assert any(
        line["logger"] == "uvicorn.access" and f"GET /{code} " in line["message"]
        for line in api_lines
    ), api_lines

    # The click event carried it (`rid`); the worker stored it with the click.
    query = "SELECT request_id FROM shortener.clicks WHERE request_id = :'rid'"
    stored = wait_for("stored click", lambda: stack.sql(query, rid=request_id))
    assert stored == request_id


def test_the_worker_logs_the_request_id_of_a_click_it_gives_up_on(stack: Stack) -> None:
    request_id = secrets.token_hex(16)
    # A malformed event (no such link id) as a buggy api release might append it.
    stack.redis("XADD", "clicks:stream", "*", "link", "x", "at", "1", "bot", "0", "rid", request_id)

    def dead_letter_lines() -> list[dict[str, Any]]:
        return [
            line
            for line in json_lines(stack, "worker")
            if any(letter.get("request_id") == request_id for letter in line.get("letters", []))
        ]

    [line] = wait_for("worker log line", dead_letter_lines)
    assert line["message"] == "dead-lettered malformed click events"
    assert line["level"] == "WARNING"


def test_make_metrics_prints_the_api_and_worker_metrics(client: httpx.Client, stack: Stack) -> None:
    client.get("/NoSuchCode1")  # at least one request of the /{code} route
    # `make metrics` as an operator runs it, against this project (its compose file only).
    env = {**stack.env, "COMPOSE_FILE": str(BASE_FILE)}

    def scraped() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
        found = samples(run(["make", "--no-print-directory", "-s", "metrics"], env).stdout)
        runs = ("shortener_worker_jobs_total", {"job": "ingest-clicks", "outcome": "succeeded"})
        # The worker's cron enqueues an ingestion run every second.
        return found if found.get((runs[0], frozenset(runs[1].items()))) else None

    found = wait_for("successful ingestion run in the metrics", scraped)

    def value(name: str, **labels: str) -> float | None:
        return found.get((name, frozenset(labels.items())))

    not_found = {"route": "/{code}", "method": "GET", "status": "404"}
    assert (value("shortener_http_requests_total", **not_found) or 0) >= 1
    assert value("shortener_http_request_duration_seconds_count", route="/{code}", method="GET")
    assert value("shortener_link_cache_lookups_total", result="miss") is not None
    assert value("shortener_worker_redis_up") == 1
    assert value("shortener_worker_click_stream_lag") is not None
    assert value("shortener_worker_click_dead_letters") is not None
    assert value("shortener_worker_click_events_total", outcome="ingested") is not None


def test_metrics_are_not_reachable_from_outside(stack: Stack) -> None:
    # http.client sends each path as written (httpx would read "//metrics" as a host).
    host, _, port = stack.base_url.removeprefix("http://").partition(":")
    answered: dict[str, str] = {}  # path -> request id
    for path in ("/metrics", "/metrics?format=text", "//metrics", "/%6Detrics", "/metrics/"):
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read().decode(errors="replace")
        finally:
            connection.close()
        # nginx's own 404 document, nothing else: not the metrics, not the api's slash
        # redirect (/metrics/ -> /metrics), not an api 404.
        assert response.status == 404, (path, response.status, body)
        assert response.getheader("content-type") == "application/problem+json", path
        problem = json.loads(body)
        assert problem["type"].endswith("/problems/not-found"), (path, problem)
        answered[path] = problem["request_id"]
    # nginx answered each alone: its access log names no upstream for any of them.
    for path, request_id in answered.items():
        [line] = wait_for("nginx log line", lambda rid=request_id: logged_with(stack, "proxy", rid))
        assert (line["status"], line["upstream"]) == (404, ""), (path, line)
    # The worker's port: reachable on the backend network, not from the proxy's.
    assert probe(stack, "api", "worker", 9100) == "connected"
    assert probe(stack, "proxy", "worker", 9100) == "unresolvable"
