"""Render a short URL as a QR code image with segno (ISO/IEC 18004)."""

import io
from typing import Literal

import segno

QrFormat = Literal["svg", "png"]
MEDIA_TYPES: dict[str, str] = {"svg": "image/svg+xml", "png": "image/png"}


def qr_image(text: str, image_format: QrFormat, scale: int) -> bytes:
    """The QR code of `text`: `scale` pixels per module, the standard 4-module quiet zone.

    Error correction "M" (15 %) survives a smudge or a phone photo at an angle; segno
    raises it further when the text fits anyway (`boost_error`, its default).
    """
    code = segno.make(text, error="m", micro=False)
    out = io.BytesIO()
    if image_format == "svg":
        # No XML declaration: the bytes are an image, never a document. A white background
        # (segno's SVG default is transparent): a QR code needs its light quiet zone to
        # scan, and the page around it may be dark.
        code.save(out, kind="svg", scale=scale, border=4, xmldecl=False, light="#fff")
    else:
        code.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
