"""The stack's logs as the tests read them: the JSON lines of a service (nginx's access
log, the api's and the worker's), found by the request id nginx gives every request."""

import json
import time
from collections.abc import Callable
from typing import Any

from tests.e2e.stack import Stack


def json_lines(stack: Stack, service: str) -> list[dict[str, Any]]:
    """The service's log lines that are JSON objects (nginx's error log is not)."""
    lines = []
    for line in stack.compose("logs", "--no-color", "--no-log-prefix", service).splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            lines.append(entry)
    return lines


def wait_for(what: str, found: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := found()):
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(1)
    return result


def logged_with(stack: Stack, service: str, request_id: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(stack, service) if line.get("request_id") == request_id]
