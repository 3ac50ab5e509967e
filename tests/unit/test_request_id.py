"""The request id on every log line of a request, and requests counted by route template
(api/shortener/logs.py, request_ids.py, metrics.py): the middlewares in-process, no
backends."""

import asyncio
import io
import json
import logging
import logging.config
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from prometheus_client import REGISTRY
from starlette.types import Message

from shortener.logs import REQUEST_ID, KeyRedactingFilter, RequestIdFilter, logging_config
from shortener.metrics import UNMATCHED, ObserveRequests
from shortener.request_ids import BindRequestIds

pytestmark = pytest.mark.anyio

NGINX_ID = "0123456789abcdef0123456789abcdef"  # the shape of nginx's $request_id
log = logging.getLogger("shortener.tests")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The api's own logging configuration (logs.py), writing to a buffer instead of
    stdout; the loggers it touches are put back as they were afterwards."""
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access"]
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.level, logger.propagate)
    buffer = io.StringIO()
    config = logging_config("INFO")
    config["handlers"]["stdout"]["stream"] = buffer
    logging.config.dictConfig(config)
    try:
        yield buffer
    finally:
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate


def logged(buffer: io.StringIO) -> dict[str, dict[str, Any]]:
    """The JSON lines written so far, by message."""
    return {entry["message"]: entry for entry in map(json.loads, buffer.getvalue().splitlines())}


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/api/links/{code}")
    async def read_link(code: str) -> dict[str, str]:
        log.info("reading a link")
        return {"code": code}

    @app.get("/{code}")
    async def follow(code: str, request: Request) -> dict[str, str | None]:
        log.info(f"following {code}")
        await asyncio.sleep(0.01)  # another request runs meanwhile in the concurrency test
        log.info(f"followed {code}")
        return {"seen": request.headers.get("x-request-id")}

    @app.get("/fail/{n}")
    async def fail(n: int) -> None:
        raise RuntimeError("boom")

    app.add_middleware(ObserveRequests)
    app.add_middleware(BindRequestIds)  # outermost, as in app.py
    return app


def client(app: FastAPI, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://sho.rt")


def requests_counted(route: str, method: str, status: str) -> float:
    labels = {"route": route, "method": method, "status": status}
    return REGISTRY.get_sample_value("shortener_http_requests_total", labels) or 0.0


def test_the_filter_adds_the_id_only_while_one_is_set() -> None:
    record = logging.makeLogRecord({"msg": "x"})
    token = REQUEST_ID.set(NGINX_ID)
    try:
        assert RequestIdFilter().filter(record)
        assert record.request_id == NGINX_ID
    finally:
        REQUEST_ID.reset(token)
    outside = logging.makeLogRecord({"msg": "y"})
    assert RequestIdFilter().filter(outside)
    assert not hasattr(outside, "request_id")


def test_api_keys_in_a_line_are_cut_to_their_prefix(json_logs: io.StringIO) -> None:
    key = "shk_AbCd1234" + "x" * 35
    # As uvicorn's access log writes a URL a client put a key in.
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "10.0.0.1:0", "GET", f"/api/links?k={key}&k2={key}", "1.1", 401
    )
    line = json_logs.getvalue()
    assert key not in line and "x" * 10 not in line
    assert "/api/links?k=shk_AbCd1234[redacted]&k2=shk_AbCd1234[redacted]" in line
    untouched = logging.makeLogRecord({"msg": "%s items", "args": (3,)})
    assert KeyRedactingFilter().filter(untouched) and untouched.getMessage() == "3 items"


async def test_every_line_of_a_request_has_its_id_and_lines_after_it_none(
    json_logs: io.StringIO,
) -> None:
    app = make_app()

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def server_send(message: Message) -> None:
        # What uvicorn does when the response starts: its access log line, in the request's
        # context, so the filter on the shared handler sees the id.
        if message["type"] == "http.response.start":
            logging.getLogger("uvicorn.access").info('"GET /api/links/abc" %d', message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/links/abc",
        "raw_path": b"/api/links/abc",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"sho.rt"), (b"x-request-id", NGINX_ID.encode())],
        "client": ("10.0.0.2", 40000),
        "server": ("api", 8000),
    }
    await app(scope, receive, server_send)
    log.info("after the request")

    lines = logged(json_logs)
    assert lines["reading a link"]["request_id"] == NGINX_ID
    assert lines['"GET /api/links/abc" 200']["logger"] == "uvicorn.access"
    assert lines['"GET /api/links/abc" 200']["request_id"] == NGINX_ID
    assert "request_id" not in lines["after the request"]
    assert REQUEST_ID.get() == ""


async def test_concurrent_requests_each_log_their_own_id(json_logs: io.StringIO) -> None:
    ids = {"first": "a" * 32, "second": "b" * 32}
    async with client(make_app()) as http:
        await asyncio.gather(
            *(http.get(f"/{code}", headers={"X-Request-ID": rid}) for code, rid in ids.items())
        )
    lines = logged(json_logs)
    for code, rid in ids.items():
        assert lines[f"following {code}"]["request_id"] == rid
        assert lines[f"followed {code}"]["request_id"] == rid


async def test_a_request_without_an_id_gets_one_for_its_logs_and_its_client(
    json_logs: io.StringIO,
) -> None:
    async with client(make_app()) as http:
        response = await http.get("/direct")
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert logged(json_logs)["following direct"]["request_id"] == request_id
    # Not added to the request's headers: the click event's `rid` is nginx's id or "".
    assert response.json() == {"seen": None}


async def test_a_received_id_is_not_echoed_nginx_adds_it_to_the_response() -> None:
    async with client(make_app()) as http:
        response = await http.get("/proxied", headers={"X-Request-ID": NGINX_ID})
    assert response.json() == {"seen": NGINX_ID}
    assert "x-request-id" not in response.headers


async def test_an_overlong_id_is_cut_to_the_click_events_bound(json_logs: io.StringIO) -> None:
    async with client(make_app()) as http:
        await http.get("/long", headers={"X-Request-ID": "x" * 1000})
    assert logged(json_logs)["following long"]["request_id"] == "x" * 64


async def test_requests_are_counted_by_route_template_never_by_path() -> None:
    before = {
        "link": requests_counted("/api/links/{code}", "GET", "200"),
        "code": requests_counted("/{code}", "GET", "200"),
    }
    async with client(make_app()) as http:
        for code in ("abc", "def", "ghi"):
            await http.get(f"/api/links/{code}")
        await http.get("/xyz")

    assert requests_counted("/api/links/{code}", "GET", "200") == before["link"] + 3
    assert requests_counted("/{code}", "GET", "200") == before["code"] + 1
    assert requests_counted("/api/links/abc", "GET", "200") == 0
    duration = REGISTRY.get_sample_value(
        "shortener_http_request_duration_seconds_count",
        {"route": "/api/links/{code}", "method": "GET"},
    )
    assert duration is not None and duration >= 3


async def test_unmatched_paths_and_unknown_methods_share_one_label() -> None:
    before_unmatched = requests_counted(UNMATCHED, "GET", "404")
    before_other = requests_counted("/{code}", "other", "405")
    async with client(make_app()) as http:
        assert (await http.get("/a/b/c")).status_code == 404
        assert (await http.get("/d/e/f")).status_code == 404
        assert (await http.request("BREW", "/coffee")).status_code == 405
    assert requests_counted(UNMATCHED, "GET", "404") == before_unmatched + 2
    assert requests_counted("/{code}", "other", "405") == before_other + 1


async def test_an_unhandled_error_counts_as_a_500_of_its_route() -> None:
    before = requests_counted("/fail/{n}", "GET", "500")
    token = REQUEST_ID.set("")  # the id stays set after an error (for the server's log line)
    try:
        async with client(make_app(), raise_app_exceptions=False) as http:
            response = await http.get("/fail/1", headers={"X-Request-ID": NGINX_ID})
        assert response.status_code == 500
        assert REQUEST_ID.get() == NGINX_ID
    finally:
        REQUEST_ID.reset(token)
    assert requests_counted("/fail/{n}", "GET", "500") == before + 1


@pytest.mark.parametrize("access_log", [True, False])
def test_the_access_log_setting_decides_whether_uvicorn_writes_access_lines(
    access_log: bool,
) -> None:
    # uvicorn writes an access line whenever its access logger has a handler, even via a
    # parent: that is the switch production's ACCESS_LOG=false has to turn.
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.access")]
    saved = [(logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    try:
        logging.config.dictConfig(logging_config("INFO", access_log=access_log))
        assert logging.getLogger("uvicorn.access").hasHandlers() is access_log
    finally:
        for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
