"""`Authorization: Bearer <key>` -> the owner id that scopes every link query."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shortener.dependencies import BackendsDep
from shortener.keys.store import find_active_key
from shortener.problems import Problem, problem_doc


def _presented_key(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


# Only documents the key in OpenAPI (a security scheme: the docs' Authorize button, and
# clients told which endpoints need it); current_owner reads and checks the header itself.
BEARER = HTTPBearer(auto_error=False, description="An API key, from `make api-key NAME=...`.")


async def current_owner(
    request: Request,
    backends: BackendsDep,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> int:
    key = _presented_key(request)
    if key is None:
        raise Problem(
            401,
            "unauthorized",
            "This endpoint needs an API key: send 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    async with backends.database.connection() as conn:
        owner = await find_active_key(conn, key)
    if owner is None:
        raise Problem(
            401,
            "unauthorized",
            "The API key is unknown or revoked.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return owner


OwnerDep = Annotated[int, Depends(current_owner)]
# For the `responses=` of every route that takes OwnerDep.
AUTH_ERRORS = {401: problem_doc("Missing, unknown or revoked API key")}
