"""Reading an import file into rows: each one checked by the rules a link created through
the API meets (LinkCreate, the target policy), normalised, or refused naming its row.

The api does this at upload, not the worker: the target policy, the alias rules and the
tag names live here, and the worker, a separate image, then only inserts rows known to
be valid (worker/shortener_worker/imports.py). Rows are numbered from 1, the CSV header
not counted: the number an editor shows for a data row, less one.

Columns (CSV header names, JSON Lines keys), matched without regard to case:
`url`, `alias`, `expires_at`, `max_visits`, `tags`, `created_at` (what GET
/api/links/export writes, so that an export imports as it is); Shlink's CSV import
columns `Long URL`, `Short code`, `Tags` are read as url, alias and tags. Other columns
(`code`, `visits`, Shlink's `Title`, `Domain`) are ignored. In CSV, tags are separated
by spaces, `|` or `,`; in JSON Lines they are a list.
"""

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from shortener.links.models import LinkCreate
from shortener.links.targets import TargetPolicy, TargetRejected, normalise_target
from shortener.problems import field_errors
from shortener.timestamps import DATE_TIME_MESSAGE, Timestamp

FIELDS = ("url", "alias", "expires_at", "max_visits", "tags", "created_at")
# Other tools' names for our columns (lower case).
HEADER_NAMES = {"long url": "url", "short code": "alias"} | {name: name for name in FIELDS}
_TAG_SEPARATORS = re.compile(r"[\s|,]+")
_TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(Timestamp)


class UnreadableFile(Exception):
    """Not a file of this format at all (no header with `url`, not UTF-8)."""


@dataclass(frozen=True)
class ImportRow:
    row_number: int
    # The normalised link, as the worker inserts it (JSON: times as RFC 3339 text).
    link: dict[str, Any]


@dataclass(frozen=True)
class RowError:
    row_number: int
    field: str
    message: str

    def document(self) -> dict[str, Any]:
        return {"row": self.row_number, "field": self.field, "message": self.message}


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise UnreadableFile("the file is empty")
    names = [HEADER_NAMES.get(name.strip().lower()) for name in header]
    if "url" not in names:
        raise UnreadableFile("the CSV header has no `url` column")
    for number, values in enumerate(reader, start=1):
        if not any(value.strip() for value in values):
            continue  # a blank line is no row (but keeps its number)
        record: dict[str, Any] = {}
        for name, value in zip(names, values, strict=False):
            if name is not None and value.strip():
                record[name] = value.strip()
        if "tags" in record:
            record["tags"] = [tag for tag in _TAG_SEPARATORS.split(record["tags"]) if tag]
        if "max_visits" in record and record["max_visits"].isdigit():
            record["max_visits"] = int(record["max_visits"])
        yield number, record


def _jsonl_records(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            yield number, "is not a JSON object"
            continue
        if not isinstance(value, dict):
            yield number, "is not a JSON object"
            continue
        yield number, {HEADER_NAMES[k.lower()]: v for k, v in value.items() if k.lower() in FIELDS}


def _created_at(value: Any) -> str | None:
    """An imported link keeps its creation time (not in the future); absent: now."""
    if value is None:
        return None
    try:
        when = _TIMESTAMP.validate_python(value)
    except ValidationError:
        raise ValueError(DATE_TIME_MESSAGE) from None
    if when > datetime.now(UTC):
        raise ValueError("must not be in the future")
    return when.isoformat()


def check_row(number: int, record: dict[str, Any], policy: TargetPolicy) -> ImportRow | RowError:
    created_raw = record.pop("created_at", None)
    try:
        link = LinkCreate.model_validate(record)
    except ValidationError as error:
        first = field_errors(error.errors())[0]
        return RowError(number, first["field"], first["message"])
    try:
        url = normalise_target(link.url, policy)
    except TargetRejected as rejection:
        return RowError(number, "url", str(rejection))
    try:
        created_at = _created_at(created_raw)
    except ValueError as error:
        return RowError(number, "created_at", str(error))
    return ImportRow(
        number,
        {
            "url": url,
            "alias": link.alias,
            "expires_at": link.expires_at.isoformat() if link.expires_at else None,
            "max_visits": link.max_visits,
            "tags": link.tags,
            "created_at": created_at,
        },
    )


def read_rows(body: bytes, file_format: str, policy: TargetPolicy) -> list[ImportRow | RowError]:
    """Every row of the file, checked, in file order."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile("the file is not UTF-8") from None
    if "\x00" in text:
        raise UnreadableFile("the file contains NUL characters")
    rows: list[ImportRow | RowError] = []
    records = _csv_records(text) if file_format == "csv" else _jsonl_records(text)
    try:
        for number, record in records:
            if isinstance(record, str):
                rows.append(RowError(number, "row", record))
            else:
                rows.append(check_row(number, record, policy))
    except csv.Error as error:  # a field past the csv module's limit (128 KiB), say
        raise UnreadableFile(f"the CSV cannot be parsed after row {len(rows)}: {error}") from None
    return rows
