"""GET /api/links/{code}/qr: the short URL as a QR code that a reader decodes back."""

import io
import xml.etree.ElementTree as ET

import httpx
import pytest
import zxingcpp
from PIL import Image

from shortener.keys.store import create_key
from tests.integration.containers import APP, Postgres

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"


async def make_link(client: httpx.AsyncClient) -> dict:
    response = await client.post("/api/links", json={"url": "https://example.org/qr"})
    assert response.status_code == 201
    return response.json()


def decoded(png: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


async def test_png_decodes_to_the_short_url(client: httpx.AsyncClient) -> None:
    link = await make_link(client)

    response = await client.get(f"/api/links/{link['code']}/qr", params={"format": "png"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "private, max-age=3600"
    assert decoded(response.content) == [link["short_url"]]


async def test_svg_is_the_default_and_scales(client: httpx.AsyncClient) -> None:
    link = await make_link(client)
    small = await client.get(f"/api/links/{link['code']}/qr", params={"scale": 2})
    large = await client.get(f"/api/links/{link['code']}/qr", params={"scale": 10})
    png = await client.get(f"/api/links/{link['code']}/qr", params={"format": "png", "scale": 2})

    assert small.headers["content-type"] == "image/svg+xml"
    # Our own api's output, parsed in a test: not untrusted input.
    small_svg = ET.fromstring(small.content)  # noqa: S314
    large_svg = ET.fromstring(large.content)  # noqa: S314
    assert small_svg.tag == f"{SVG_NAMESPACE}svg"
    # The same symbol at 2 and 10 pixels per module, matching the PNG's pixel size.
    width = int(small_svg.attrib["width"])
    assert int(large_svg.attrib["width"]) == 5 * width
    assert Image.open(io.BytesIO(png.content)).size == (width, width)
    # Nothing active in it: a path, no script, no external reference.
    tags = {element.tag.removeprefix(SVG_NAMESPACE) for element in small_svg.iter()}
    assert tags <= {"svg", "g", "path"}


async def test_bad_parameters_name_the_field(client: httpx.AsyncClient) -> None:
    link = await make_link(client)
    for params, field in [({"format": "gif"}, "format"), ({"scale": 0}, "scale")]:
        response = await client.get(f"/api/links/{link['code']}/qr", params=params)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_qr_is_owner_scoped(client: httpx.AsyncClient, postgres: Postgres) -> None:
    link = await make_link(client)
    with postgres.connect(APP) as conn:
        _, other = create_key(conn, "other")

    others = await client.get(
        f"/api/links/{link['code']}/qr", headers={"Authorization": f"Bearer {other}"}
    )
    anonymous = await client.get(f"/api/links/{link['code']}/qr", headers={"Authorization": ""})
    unknown = await client.get("/api/links/NoSuchCode/qr")

    assert others.status_code == 404
    assert others.json()["type"].endswith("/link-not-found")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert unknown.status_code == 404


async def test_qr_of_a_deleted_link_is_gone(client: httpx.AsyncClient) -> None:
    link = await make_link(client)
    assert (await client.delete(f"/api/links/{link['code']}")).status_code == 204
    assert (await client.get(f"/api/links/{link['code']}/qr")).status_code == 404
