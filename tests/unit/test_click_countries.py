"""The country of a click (api/shortener/clicks/countries.py): from a trusted CDN header
or an MMDB file the tests write, watched for replacement at most every few seconds; an
unusable file gives no country and one warning, never an error."""

import logging
import os
from pathlib import Path

import pytest

from shortener.clicks.countries import CountryLookup, header_country, record_country
from tests.geoip import write_country_database


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return write_country_database(tmp_path / "country.mmdb")


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    ("value", "country"),
    [("DE", "DE"), (" fr ", "FR"), ("XX", ""), ("T1", ""), ("DEU", ""), ("D3", ""), ("", "")],
)
def test_a_header_country_is_two_letters(value: str, country: str) -> None:
    assert header_country(value) == country


def test_records_of_both_database_shapes() -> None:
    assert record_country({"country": {"iso_code": "DE"}}) == "DE"
    # GeoLite2 has no country for some networks (anycast, satellites): the registered one.
    assert record_country({"registered_country": {"iso_code": "NL"}}) == "NL"
    assert record_country({"continent": {"code": "EU"}}) == ""
    assert record_country(None) == ""


def test_addresses_are_looked_up_in_the_file(database: Path) -> None:
    countries = CountryLookup(database)
    assert countries({}, "203.0.113.7") == "DE"
    assert countries({}, "198.51.100.4") == "FR"
    assert countries({}, "2001:db8::1") == "JP"
    assert countries({}, "192.0.2.1") == ""  # not in the file
    assert countries({}, "") == ""
    assert countries({}, "not-an-address") == ""
    health = countries.health()
    assert (health["status"], health["database"]) == ("pass", "Test-Country")


def test_the_header_is_trusted_only_when_named(database: Path) -> None:
    headers = {"cf-ipcountry": "BR"}
    assert CountryLookup(database)(headers, "203.0.113.7") == "DE"
    trusting = CountryLookup(database, header="CF-IPCountry")
    assert trusting(headers, "203.0.113.7") == "BR"
    # No country in the header (absent, XX): the file still answers.
    assert trusting({"cf-ipcountry": "XX"}, "203.0.113.7") == "DE"
    assert trusting({}, "198.51.100.4") == "FR"
    header_only = CountryLookup(None, header="CF-IPCountry")
    assert header_only(headers, "203.0.113.7") == "BR"
    assert header_only.health()["status"] == "pass"


def test_no_source_no_country_and_readiness_warns() -> None:
    countries = CountryLookup(None)
    assert countries({"cf-ipcountry": "BR"}, "203.0.113.7") == ""
    assert countries.health() == {"status": "warn", "output": "no country database configured"}


def test_a_missing_file_warns_once_and_is_picked_up_when_it_appears(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    path = tmp_path / "country.mmdb"
    countries = CountryLookup(path, check_seconds=5, clock=clock)
    for _ in range(3):
        assert countries({}, "203.0.113.7") == ""
        clock.now += 10
    assert len(warnings(caplog)) == 1
    assert countries.health()["status"] == "warn"
    assert str(path) in countries.health()["output"]

    write_country_database(path)
    clock.now += 10
    assert countries({}, "203.0.113.7") == "DE"
    assert countries.health()["status"] == "pass"


def test_a_corrupt_file_warns_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    path = tmp_path / "country.mmdb"
    path.write_bytes(b"\x00" * 4096)
    countries = CountryLookup(path, check_seconds=5, clock=clock)
    for _ in range(3):
        assert countries({}, "203.0.113.7") == ""
        clock.now += 10
    assert len(warnings(caplog)) == 1
    assert countries.health()["status"] == "warn"


def test_a_replaced_file_is_used_after_the_next_check(database: Path) -> None:
    clock = Clock()
    countries = CountryLookup(database, check_seconds=5, clock=clock)
    assert countries({}, "203.0.113.7") == "DE"

    write_country_database(database, {"203.0.113.0/24": "IT"})  # renamed over the old one
    clock.now += 1
    assert countries({}, "203.0.113.7") == "DE"  # not checked yet: no stat per click
    clock.now += 5
    assert countries({}, "203.0.113.7") == "IT"


def test_a_file_rewritten_in_place_is_safe(database: Path, tmp_path: Path) -> None:
    """`cp new.mmdb db.mmdb` truncates the file the reader had open: the reader maps its
    own copy, so this gives the old answers until the next check, never a SIGBUS."""
    clock = Clock()
    countries = CountryLookup(database, check_seconds=5, clock=clock)
    other = write_country_database(tmp_path / "other.mmdb", {"203.0.113.0/24": "ES"})
    with database.open("r+b") as file:
        file.truncate(0)
        assert countries({}, "203.0.113.7") == "DE"
        file.write(other.read_bytes())
    os.utime(database, ns=(1, 1))  # a different mtime, even within the clock's resolution
    clock.now += 5
    assert countries({}, "203.0.113.7") == "ES"
