"""Reading an import file: columns by name, rows numbered from 1 after the header, each
checked by the API's own rules (api/shortener/imports/rows.py)."""

import json

import pytest

from shortener.imports.rows import ImportRow, RowError, UnreadableFile, read_rows
from shortener.links.targets import TargetPolicy

POLICY = TargetPolicy()


def test_our_own_csv_columns_are_read_and_normalised() -> None:
    body = (
        b"url,alias,expires_at,max_visits,tags,created_at,code,visits\n"
        b"HTTPS://Example.ORG/a,my-alias,2099-01-01T00:00:00Z,5,News Sport,"
        b"2020-01-01T00:00:00+00:00,my-alias,3\n"
        b"https://example.org/b,,,,,,xYz1234,0\n"
    )
    first, second = read_rows(body, "csv", POLICY)
    assert isinstance(first, ImportRow) and isinstance(second, ImportRow)
    assert first.row_number == 1 and second.row_number == 2
    assert first.link == {
        "url": "https://example.org/a",
        "alias": "my-alias",
        "expires_at": "2099-01-01T00:00:00+00:00",
        "max_visits": 5,
        "tags": ["news", "sport"],
        "created_at": "2020-01-01T00:00:00+00:00",
    }
    assert second.link["alias"] is None and second.link["tags"] == []


def test_bad_rows_are_named_by_their_number_and_field() -> None:
    body = (
        b"URL,Alias,max_visits,created_at\n"
        b"https://example.org/ok,,,\n"
        b"ftp://example.org/,,,\n"
        b"https://example.org/,api,,\n"
        b"https://example.org/,,zero,\n"
        b"\n"
        b"https://example.org/,,,2999-01-01T00:00:00Z\n"
    )
    rows = read_rows(body, "csv", POLICY)
    errors = [(r.row_number, r.field) for r in rows if isinstance(r, RowError)]
    assert errors == [(2, "url"), (3, "alias"), (4, "max_visits"), (6, "created_at")]


def test_shlinks_csv_columns_are_read() -> None:
    body = b"Long URL,Short code,Title,Domain,Tags\nhttps://example.org/,abc-1,T,,a|b\n"
    (row,) = read_rows(body, "csv", POLICY)
    assert isinstance(row, ImportRow)
    assert (row.link["url"], row.link["alias"], row.link["tags"]) == (
        "https://example.org/",
        "abc-1",
        ["a", "b"],
    )


def test_json_lines_rows_and_lines_that_are_not_objects() -> None:
    lines = [
        json.dumps({"url": "https://example.org/", "tags": ["x"], "code": "ignored"}),
        "[1, 2]",
        "{not json",
        json.dumps({"url": "https://example.org/", "max_visits": "10"}),
    ]
    rows = read_rows("\n".join(lines).encode(), "jsonl", POLICY)
    assert isinstance(rows[0], ImportRow) and rows[0].link["tags"] == ["x"]
    assert [(r.row_number, r.field) for r in rows[1:]] == [
        (2, "row"),
        (3, "row"),
        (4, "max_visits"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"alias,tags\nabc,\n",
        b"url\n\xff\xfe\n",
        b"url\nhttps://e.org/\x00\n",
        b"url\n" + b"x" * 200_000 + b"\n",
    ],
)
def test_a_file_that_is_no_import_is_refused_whole(body: bytes) -> None:
    with pytest.raises(UnreadableFile):
        read_rows(body, "csv", POLICY)


def test_json_nested_thousands_deep_is_a_bad_row_not_a_crash() -> None:
    (row,) = read_rows(b"[" * 100_000 + b"]" * 100_000, "jsonl", POLICY)
    assert isinstance(row, RowError) and row.row_number == 1
