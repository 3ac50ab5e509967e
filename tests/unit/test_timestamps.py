"""Dates and times the API reads: the documented forms pass, exactly as written.

What fails (numbers, timestamps as text, other ISO 8601 forms) is in test_http_errors.py,
through the endpoints.
"""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from shortener.app import create_app
from shortener.settings import Settings
from shortener.timestamps import IsoDate, Timestamp

DAY = TypeAdapter(IsoDate)
INSTANT = TypeAdapter(Timestamp)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-01-01T00:00:00Z", datetime(2030, 1, 1, tzinfo=UTC)),
        ("2030-01-01t00:00:00z", datetime(2030, 1, 1, tzinfo=UTC)),  # RFC 3339 5.6, NOTE
        ("2030-01-01T00:00:00.25Z", datetime(2030, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)),
        (
            "2030-01-01T05:30:00+05:30",
            datetime(2030, 1, 1, 5, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        ("2030-01-01T00:00:00-00:00", datetime(2030, 1, 1, tzinfo=UTC)),
        # What Python's isoformat() and JavaScript's toISOString() (the web page) write.
        (
            datetime(2030, 1, 1, 0, 0, 1, 5, tzinfo=UTC).isoformat(),
            datetime(2030, 1, 1, 0, 0, 1, 5, tzinfo=UTC),
        ),
        ("2030-01-01T00:00:00.000Z", datetime(2030, 1, 1, tzinfo=UTC)),
    ],
)
def test_rfc_3339_date_times_pass(text: str, expected: datetime) -> None:
    assert INSTANT.validate_python(text) == expected


def test_iso_days_pass() -> None:
    assert DAY.validate_python("2026-12-01") == date(2026, 12, 1)
    assert DAY.validate_python("2024-02-29") == date(2024, 2, 29)


def test_the_schema_still_documents_the_formats(settings: Settings) -> None:
    schema = TestClient(create_app(settings)).get("/api/openapi.json").json()
    stats = schema["paths"]["/api/links/{code}/stats"]["get"]["parameters"]
    formats = {
        p["name"]: [s.get("format") for s in p["schema"].get("anyOf", [p["schema"]])]
        for p in stats
        if p["in"] == "query"
    }
    assert formats == {"from": ["date", None], "to": ["date", None]}
    for model in ("LinkCreate", "LinkUpdate"):
        expires_at = schema["components"]["schemas"][model]["properties"]["expires_at"]
        assert [s.get("format") for s in expires_at["anyOf"]] == ["date-time", None]
