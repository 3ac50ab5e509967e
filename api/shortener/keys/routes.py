"""The key API: /api/keys (docs/api.md "Keys"). Thin: each route parses, calls one
function of manage.py, shapes the reply."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from shortener.dependencies import BackendsDep, require_json
from shortener.keys import manage
from shortener.keys.auth import AUTH_ERRORS, CurrentKey, KeysAdmin
from shortener.keys.models import CurrentKey as CurrentKeyOut
from shortener.keys.models import Key, KeyCreate, KeyCreated, KeyList
from shortener.keys.store import ApiKey
from shortener.problems import problem_doc

router = APIRouter(prefix="/api/keys", tags=["keys"])
INVALID = {422: problem_doc("Invalid fields, each named in `errors`")}
BODY_ERRORS = {
    400: problem_doc("The body cannot be decoded"),
    415: problem_doc("The body is not `application/json`"),
}
Prefix = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{8}$", description="From `GET /api/keys`.")]


def present(key: ApiKey) -> Key:
    return Key(
        prefix=key.prefix,
        name=key.name,
        scopes=sorted(key.scopes),
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


@router.get(
    "/current",
    summary="The key making this request: its prefix, name, scopes and expiry (any scope)",
    responses={401: AUTH_ERRORS[401]},
)
async def read_current_key(key: CurrentKey) -> CurrentKeyOut:
    return CurrentKeyOut(
        prefix=key.prefix, name=key.name, scopes=sorted(key.scopes), expires_at=key.expires_at
    )


@router.get(
    "", summary="Your keys (revoked ones too); never a key or its hash", responses=AUTH_ERRORS
)
async def list_keys(key: KeysAdmin, backends: BackendsDep) -> KeyList:
    return KeyList(items=[present(k) for k in await manage.list_keys(backends, key)])


@router.post(
    "",
    status_code=201,
    summary="Make a key for your links, with some of your key's scopes; shown once",
    dependencies=[Depends(require_json)],
    responses={
        **AUTH_ERRORS,
        **BODY_ERRORS,
        **INVALID,
    },
)
async def create_key(body: KeyCreate, key: KeysAdmin, backends: BackendsDep) -> KeyCreated:
    record, secret = await manage.create_key(backends, key, body)
    return KeyCreated(**present(record).model_dump(), key=secret)


@router.delete(
    "/{prefix}",
    status_code=204,
    summary="Revoke one of your keys: refused from the next request on, on every replica",
    responses={
        **AUTH_ERRORS,
        404: problem_doc("No such key among yours"),
        **INVALID,
        503: problem_doc("Cache unreachable: revokes refused (docs/security.md)"),
    },
)
async def revoke_key(prefix: Prefix, key: KeysAdmin, backends: BackendsDep) -> Response:
    await manage.revoke_key(backends, key, prefix)
    return Response(status_code=204)
