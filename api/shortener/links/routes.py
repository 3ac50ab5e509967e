"""HTTP routes of the link API: parse, call one function, shape the reply."""

from fastapi import APIRouter, Response

from shortener.dependencies import BackendsDep, SettingsDep
from shortener.links.models import Link, LinkCreate
from shortener.links.store import StoredLink, find_link, insert_link
from shortener.problems import Problem
from shortener.settings import Settings

router = APIRouter(prefix="/api/links", tags=["links"])


def present(link: StoredLink, settings: Settings) -> Link:
    return Link(
        code=link.code,
        short_url=settings.short_url_prefix + link.code,
        url=link.url,
        created_at=link.created_at,
        expires_at=link.expires_at,
    )


@router.post("", status_code=201, summary="Shorten a URL")
async def create_link(
    body: LinkCreate, response: Response, backends: BackendsDep, settings: SettingsDep
) -> Link:
    async with backends.database.connection() as conn:
        stored = await insert_link(conn, body.url, body.expires_at, settings.code_length)
    response.headers["Location"] = f"/api/links/{stored.code}"
    return present(stored, settings)


@router.get("/{code}", summary="Read one link")
async def read_link(code: str, backends: BackendsDep, settings: SettingsDep) -> Link:
    async with backends.database.connection() as conn:
        stored = await find_link(conn, code)
    if stored is None:
        raise Problem(404, "link-not-found", f"No link has the code {code!r}.")
    return present(stored, settings)
