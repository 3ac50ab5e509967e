"""GET /api/links/{code}/qr: the QR code of one of your links' short URL."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from shortener.dependencies import BackendsDep, SettingsDep
from shortener.keys.auth import AUTH_ERRORS, LinksRead
from shortener.links.manage import read_link
from shortener.problems import problem_doc
from shortener.qr.image import MEDIA_TYPES, QrFormat, qr_image

router = APIRouter(prefix="/api/links", tags=["links"])

# Images only, no JSON: the response content is documented by hand.
IMAGES = {
    200: {
        "description": "The QR code of the link's `short_url`",
        "content": {media_type: {} for media_type in MEDIA_TYPES.values()},
    }
}


@router.get(
    "/{code}/qr",
    summary="The QR code of a link's short URL (SVG or PNG)",
    response_class=Response,
    responses={
        **IMAGES,
        **AUTH_ERRORS,
        404: problem_doc("No such link for this key"),
        422: problem_doc("Invalid `format` or `scale`"),
    },
)
async def link_qr(
    code: str,
    owner: LinksRead,
    backends: BackendsDep,
    settings: SettingsDep,
    image_format: Annotated[
        QrFormat, Query(alias="format", description="`svg` (scalable) or `png`.")
    ] = "svg",
    scale: Annotated[int, Query(ge=1, le=40, description="Pixels per QR module.")] = 8,
) -> Response:
    link = await read_link(backends, owner, code)
    image = qr_image(settings.short_url_prefix + link.code, image_format, scale)
    # The image of a code never changes while the link exists; private: it is behind a key.
    headers = {"Cache-Control": "private, max-age=3600"}
    return Response(image, media_type=MEDIA_TYPES[image_format], headers=headers)
