"""GET /{code}: answer with the target, as fast as the cache allows."""

from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from shortener.dependencies import BackendsDep, SettingsDep
from shortener.links.resolve import resolve_link
from shortener.problems import Problem

router = APIRouter(tags=["redirects"])

# Browsers may reuse a 302 briefly, but only privately: a shared cache must not keep it.
REDIRECT_CACHE_CONTROL = "private, max-age=90"


# HEAD too: link checkers and chat unfurlers ask with HEAD before (or instead of) GET.
@router.api_route(
    "/{code}",
    methods=["GET", "HEAD"],
    status_code=302,
    summary="Follow a short link",
    response_class=RedirectResponse,
)
async def follow_link(code: str, backends: BackendsDep, settings: SettingsDep) -> RedirectResponse:
    target = await resolve_link(backends, settings, code)
    if target is None:
        raise Problem(404, "link-not-found", f"No link has the code {code!r}.")
    if target.expired(datetime.now(UTC)):
        raise Problem(410, "link-expired", f"The link {code!r} has expired.")
    return RedirectResponse(
        target.url, status_code=302, headers={"Cache-Control": REDIRECT_CACHE_CONTROL}
    )
