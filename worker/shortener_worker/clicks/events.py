"""A click event as the api writes it to `clicks:stream` (docs/clicks.md), checked field
by field: an event that would not fit the tables is refused here, by name, rather than
failing the whole batch's transaction in Postgres.

Strict on what a click needs to be counted (`link`, `at`, `bot`); lenient when an
optional field is absent (it takes the column's default, `""`), strict when it is present.
A field this worker does not know is ignored: during a rolling update a newer api may
write fields an older worker has never heard of (`country` was one), and an older api
leaves out the ones it never had (docs/clicks.md, "Old and new side by side").
"""

from dataclasses import dataclass

# `at` outside these bounds (Unix ms) is a clock or encoding fault, not a click.
EARLIEST_MS = 946_684_800_000  # 2000-01-01
LATEST_MS = 4_102_444_800_000  # 2100-01-01
# The longest text each optional field may carry (ua: the contract's 64).
MAX_LENGTH = {b"ref": 255, b"ua": 64, b"visitor": 16, b"rid": 128, b"country": 2}
HEX = frozenset("0123456789abcdefABCDEF")
COUNTRY_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True, slots=True)
class Click:
    stream_id: str
    link_id: int
    at_ms: int
    referrer_host: str
    agent_family: str
    is_bot: bool
    visitor: str
    request_id: str
    country: str = ""  # ISO 3166-1 alpha-2, "" unknown


class MalformedEvent(ValueError):
    """The event cannot be stored; the message is the dead letter's `reason`."""


def parse_click(stream_id: bytes, fields: dict[bytes, bytes]) -> Click:
    return Click(
        stream_id=stream_id.decode("ascii"),
        link_id=_positive_integer(fields, b"link", 1, 2**63 - 1),
        at_ms=_positive_integer(fields, b"at", EARLIEST_MS, LATEST_MS),
        is_bot=_flag(fields, b"bot"),
        referrer_host=_text(fields, b"ref"),
        agent_family=_text(fields, b"ua"),
        visitor=_visitor(fields),
        request_id=_text(fields, b"rid"),
        country=_country(fields),
    )


def _required(fields: dict[bytes, bytes], name: bytes) -> bytes:
    value = fields.get(name)
    if value is None:
        raise MalformedEvent(f"missing field {name.decode()}")
    return value


def _positive_integer(fields: dict[bytes, bytes], name: bytes, low: int, high: int) -> int:
    raw = _required(fields, name)
    # bytes.isdigit() is ASCII only ("²" or "-1" do not pass); 19 digits bound the size.
    if not raw.isdigit() or len(raw) > 19:
        raise MalformedEvent(f"field {name.decode()} is not a positive integer")
    value = int(raw)
    if not low <= value <= high:
        raise MalformedEvent(f"field {name.decode()} is out of range")
    return value


def _flag(fields: dict[bytes, bytes], name: bytes) -> bool:
    raw = _required(fields, name)
    if raw == b"1":
        return True
    if raw == b"0":
        return False
    raise MalformedEvent(f'field {name.decode()} is not "0" or "1"')


def _text(fields: dict[bytes, bytes], name: bytes) -> str:
    raw = fields.get(name)
    if not raw:
        return ""
    if len(raw) > MAX_LENGTH[name]:
        raise MalformedEvent(f"field {name.decode()} is longer than {MAX_LENGTH[name]} bytes")
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedEvent(f"field {name.decode()} is not UTF-8") from None
    # The one character Postgres text cannot hold: it would fail the whole batch.
    if "\x00" in value:
        raise MalformedEvent(f"field {name.decode()} contains a NUL character")
    return value


def _visitor(fields: dict[bytes, bytes]) -> str:
    value = _text(fields, b"visitor")
    if value and (len(value) != 16 or not HEX.issuperset(value)):
        raise MalformedEvent("field visitor is not 16 hex characters")
    return value


def _country(fields: dict[bytes, bytes]) -> str:
    value = _text(fields, b"country")
    if value and (len(value) != 2 or not COUNTRY_LETTERS.issuperset(value)):
        raise MalformedEvent("field country is not two capital letters")
    return value
