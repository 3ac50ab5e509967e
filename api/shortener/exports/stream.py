"""Streaming rows out of Postgres: a server-side (named) cursor read FETCH_ROWS at a time,
each batch encoded and sent before the next is fetched.

Memory stays bounded by one batch however many rows there are, and the first bytes
leave as soon as the first batch is read (docs/performance.md has the measurements:
tests/faults/test_import_export.py). The cursor runs in one transaction on a pooled
connection held for the whole response; the rows come in keyset order (`ORDER BY id`,
the primary key), so the walk needs no sort and a second export lists the same rows in
the same order. A client that goes away closes the generator: the cursor and the
transaction end with it, and the connection goes back to the pool.
"""

import csv
import io
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from psycopg import sql

from shortener.backends import Backends

FETCH_ROWS = 1000
Encode = Callable[[list[Sequence[Any]]], bytes]


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return " ".join(value)
    return "" if value is None else value


def csv_encoder(header: Sequence[str]) -> tuple[bytes, Encode]:
    def encode(rows: list[Sequence[Any]]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows([_text(value) for value in row] for row in rows)
        return buffer.getvalue().encode()

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(header)
    return buffer.getvalue().encode(), encode


def jsonl_encoder(header: Sequence[str]) -> tuple[bytes, Encode]:
    def value(field: Any) -> Any:
        return field.isoformat() if isinstance(field, datetime) else field

    def encode(rows: list[Sequence[Any]]) -> bytes:
        lines = (
            json.dumps(dict(zip(header, map(value, row), strict=True)), separators=(",", ":"))
            for row in rows
        )
        return "".join(f"{line}\n" for line in lines).encode()

    return b"", encode


async def stream_rows(
    backends: Backends,
    query: sql.Composable,
    params: dict[str, Any],
    first: bytes,
    encode: Encode,
) -> AsyncIterator[bytes]:
    if first:
        yield first
    async with (
        backends.database.connection() as conn,
        conn.transaction(),
        conn.cursor(name="export") as cursor,
    ):
        await cursor.execute(query, params)
        while rows := await cursor.fetchmany(FETCH_ROWS):
            yield encode(rows)
