"""Scopes and expiry, the pure parts (api/shortener/keys/scopes.py, auth.py, manage.py,
cache.py): what the command line and POST /api/keys accept, and what a key may grant."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shortener.keys.auth import missing_scopes
from shortener.keys.cache import KeyCheck
from shortener.keys.manage import granted_expiry, granted_scopes
from shortener.keys.scopes import ALL_SCOPES, ALL_SCOPES_IN_ORDER, parse_expiry, parse_scopes
from shortener.problems import Problem

# Found by name: the number may change when branches meet.
(MIGRATION,) = (Path(__file__).resolve().parents[2] / "api" / "migrations").glob(
    "*_api_key_scopes.sql"
)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def maker(scopes: set[str], expires_at: datetime | None = None) -> KeyCheck:
    return KeyCheck(1, 1, "AbCd1234", "maker", frozenset(scopes), expires_at, None)


def test_the_five_scopes_are_the_ones_the_database_allows() -> None:
    check = MIGRATION.read_text().split("CHECK", 1)[1]
    assert set(re.findall(r"'([a-z:]+)'", check)) == set(ALL_SCOPES_IN_ORDER) == set(ALL_SCOPES)
    assert len(ALL_SCOPES) == 5


@pytest.mark.parametrize(
    ("text", "scopes"),
    [
        ("links:read", {"links:read"}),
        ("links:read,stats:read", {"links:read", "stats:read"}),
        (" links:write , webhooks ", {"links:write", "webhooks"}),
        ("keys:admin,keys:admin", {"keys:admin"}),
    ],
)
def test_scopes_are_parsed_from_a_comma_separated_list(text: str, scopes: set[str]) -> None:
    assert parse_scopes(text) == scopes


@pytest.mark.parametrize("text", ["", " , ", "links", "links:read,", "LINKS:READ", "admin"])
def test_an_unknown_or_empty_scope_is_refused_naming_the_known_ones(text: str) -> None:
    with pytest.raises(ValueError, match="scope") as error:
        parse_scopes(text)
    if text.strip(" ,"):
        assert "links:read, links:write, stats:read, webhooks, keys:admin" in str(error.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", NOW + timedelta(days=30)),
        ("12h", NOW + timedelta(hours=12)),
        ("2027-01-01T00:00:00Z", datetime(2027, 1, 1, tzinfo=UTC)),
        ("2027-01-01T01:00:00+01:00", datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_an_expiry_is_a_duration_or_an_instant(text: str, expected: datetime) -> None:
    assert parse_expiry(text, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2027-01-01T00:00:00", "no time zone"),
        ("2020-01-01T00:00:00Z", "in the past"),
        ("0d", "neither"),
        ("30 days", "neither"),
        ("-1d", "neither"),
        ("tomorrow", "neither"),
    ],
)
def test_a_bad_expiry_is_refused_saying_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_expiry(text, now=NOW)


def test_missing_scopes_keep_the_routes_order() -> None:
    assert missing_scopes(["links:read", "stats:read"], frozenset({"stats:read"})) == ["links:read"]
    assert missing_scopes([], frozenset()) == []
    assert missing_scopes(["webhooks"], frozenset(ALL_SCOPES)) == []


def test_a_key_grants_only_scopes_it_holds() -> None:
    reader = maker({"links:read", "keys:admin"})
    assert granted_scopes(reader, {"links:read"}) == {"links:read"}
    with pytest.raises(Problem) as refused:
        granted_scopes(reader, {"links:read", "links:write"})
    assert refused.value.status == 403
    assert refused.value.extra["missing_scopes"] == ["links:write"]


def test_a_key_grants_no_longer_life_than_its_own() -> None:
    forever = maker({"keys:admin"})
    assert granted_expiry(forever, None) is None
    assert granted_expiry(forever, NOW) == NOW
    mortal = maker({"keys:admin"}, expires_at=NOW)
    assert granted_expiry(mortal, None) == NOW  # absent: the maker's own
    assert granted_expiry(mortal, NOW - timedelta(days=1)) == NOW - timedelta(days=1)
    with pytest.raises(Problem) as refused:
        granted_expiry(mortal, NOW + timedelta(seconds=1))
    assert (refused.value.status, refused.value.extra["field"]) == (403, "expires_at")


def test_a_cached_check_reads_back_as_it_was_written_and_holds_no_secret() -> None:
    check = KeyCheck(7, 3, "-_qCBSVJ", "ci", frozenset({"links:read"}), NOW, NOW)
    text = check.to_json()
    assert KeyCheck.from_json(text) == check
    assert "hash" not in text and "shk_" not in text
