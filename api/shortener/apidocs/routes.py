"""GET /api/docs: Swagger UI from this origin, under a policy that allows nothing else.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script: it
breaks offline and in air-gapped installs, and no strict Content-Security-Policy admits
it. This page is plain HTML naming three files, all served here: Swagger UI's bundle and
stylesheet, shipped by the pinned `fastapi-offline` package (its files, not its code; see
api/pyproject.toml), and our own start script. docs/api.md, "The interactive page", says
why each directive of the policy is there; tests/unit/test_api_docs.py holds it to that.
"""

from html import escape
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

PAGE = "/api/docs"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # data: Swagger UI's own stylesheet draws its icons as data: SVGs; blob: an image
        # response shown by "Try it out" (a QR code in PNG).
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
# Revalidated on every load (a 304 by ETag when unchanged): an upgrade of the package shows
# at once, though the names stay the same.
ASSET_CACHE_CONTROL = "no-cache"

# The only files served under PAGE/: Swagger UI's two, then ours.
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-init.js")
_files = StaticFiles(
    directory=Path(__file__).parent / "static", packages=[("fastapi_offline", "static")]
)

router = APIRouter(include_in_schema=False)


def page_html(title: str, openapi_url: str) -> str:
    # The start script reads the schema's URL from the data attribute: no inline script.
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="stylesheet" href="{PAGE}/swagger-ui.css">
<script src="{PAGE}/swagger-ui-bundle.js" defer></script>
<script src="{PAGE}/swagger-init.js" defer></script>
</head>
<body>
<div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>
</body>
</html>
"""


@router.api_route(PAGE, methods=["GET", "HEAD"])
async def api_docs(request: Request) -> HTMLResponse:
    app = request.app
    return HTMLResponse(
        page_html(f"{app.title} - API", app.openapi_url),
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
    )


@router.api_route(PAGE + "/{name}", methods=["GET", "HEAD"])
async def api_docs_asset(name: str, request: Request) -> Response:
    if name not in ASSETS:
        raise HTTPException(404, "No such file of the API's documentation page.")
    # StaticFiles answers conditional requests (If-None-Match, If-Modified-Since: 304).
    response = await _files.get_response(name, request.scope)
    response.headers["Cache-Control"] = ASSET_CACHE_CONTROL
    return response
