"""Dates and times as the API reads them: text in one documented format, never a number.

pydantic's lax mode takes more than the OpenAPI schema promises: `0` or "0" as a Unix
timestamp (1970-01-01), "1900000000" as a date-time, "2030-01-01T00:00:00" as a date,
"2030-01-01T00:00Z" without seconds, "+0100" without its colon. A client that sent one of
those by mistake would get another day than it meant, silently. Here only the documented
forms pass, each checked before pydantic parses it (month and day ranges are still
pydantic's), and the JSON Schema stays what it was: a string of format `date` or
`date-time`.
"""

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

# ISO 8601 calendar date, as RFC 3339 `full-date`: YYYY-MM-DD, ASCII digits.
_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# RFC 3339 `date-time` (section 5.6): seconds required, a fraction allowed, the offset `Z`
# or +hh:mm / -hh:mm; "T" and "Z" may be lower case (section 5.6, NOTE).
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)

DATE_MESSAGE = "must be a date as YYYY-MM-DD"
DATE_TIME_MESSAGE = "must be an RFC 3339 date-time string with a time zone"


def _full_date_text(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # built in Python, not read from a request
    if not isinstance(value, str) or not _FULL_DATE.fullmatch(value):
        raise ValueError(DATE_MESSAGE)
    return value


def _date_time_text(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise ValueError(DATE_TIME_MESSAGE)
    return value


# A day: "2026-12-01". In a query (stats `from`, `to`) or a body.
IsoDate = Annotated[date, BeforeValidator(_full_date_text)]
# An instant with its offset: "2030-01-01T00:00:00Z", "2030-01-01T01:00:00.5+01:00".
Timestamp = Annotated[AwareDatetime, BeforeValidator(_date_time_text)]
