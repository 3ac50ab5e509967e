"""Errors as RFC 9457 problem details (application/problem+json).

Every error the API returns has a stable `type` URI, a `title`, the HTTP `status` and a
`detail`; validation errors add `errors`, one entry per offending field.
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://shortener.example/problems/"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem_doc(description: str) -> dict[str, Any]:
    """An OpenAPI `responses` entry for an answer in problem+json."""
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {}}}


class Problem(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.headers = headers
        self.extra = extra

    def document(self) -> dict[str, Any]:
        """The problem as a JSON object (also used inside batch results)."""
        return problem_document(self.status, self.kind, self.detail, **self.extra)


def invalid_field(field: str, message: str) -> Problem:
    """A 422 naming one field, shaped like FastAPI's own validation errors."""
    return Problem(
        422,
        "validation-error",
        f"The request has invalid fields: {field}.",
        errors=[{"field": field, "message": message}],
    )


def problem_document(status: int, kind: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": TYPE_BASE + kind,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }


def problem_response(
    status: int, kind: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        problem_document(status, kind, detail, **extra),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def field_name(location: tuple[Any, ...]) -> str:
    """`("body", "url")` -> `url`; the request part is implied by the endpoint."""
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def field_error(error: dict[str, Any]) -> dict[str, str]:
    """One pydantic error -> {field, message}."""
    if error["type"] == "json_invalid":
        # FastAPI puts the character offset where a field name goes: ("body", 8). The body
        # as a whole is at fault; the offset and the decoder's reason go in the message.
        reason = error.get("ctx", {}).get("error", "invalid JSON")
        position = error["loc"][-1]
        return {"field": "body", "message": f"JSON decode error at character {position}: {reason}"}
    return {
        "field": field_name(tuple(error["loc"])),
        # Our own validators' messages read as plain sentences, like the built-in ones.
        "message": error["msg"].removeprefix("Value error, "),
    }


def field_errors(errors: Any) -> list[dict[str, str]]:
    """pydantic's error list -> [{field, message}], one entry per offending field."""
    return [field_error(error) for error in errors]


async def _on_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc.status, exc.kind, exc.detail, exc.headers, **exc.extra)


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors())
    fields = ", ".join(sorted({error["field"] for error in errors}))
    return problem_response(
        422, "validation-error", f"The request has invalid fields: {fields}.", errors=errors
    )


METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """Every method served at the request's path, for `Allow` (RFC 9110 15.5.6).

    The router names only the methods of the first route whose path matched, and FastAPI
    makes one route per method: `/api/links/{code}` would claim `Allow: GET`. So every
    route is asked about this path once per method, in a fresh scope.
    """
    scope = request.scope
    where = {"type": "http", "path": scope["path"], "root_path": scope.get("root_path", "")}
    where["headers"] = scope.get("headers", [])
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in METHODS
        if any(route.matches({**where, "method": method})[0] is Match.FULL for route in routes)
    )


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = {400: "bad-request", 404: "not-found", 405: "method-not-allowed"}.get(
        exc.status_code, "http-error"
    )
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": allowed_methods(request)}
    return problem_response(exc.status_code, kind, str(exc.detail), headers=headers)


async def _on_unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    # Logged with its traceback by the server; the client gets no internals.
    return problem_response(500, "internal-error", "Something went wrong on our side.")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _on_unexpected_error)
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
