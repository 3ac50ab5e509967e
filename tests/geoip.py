"""A small country database for the tests, in the MMDB format the api reads: written with
mmdb-writer, shaped like DB-IP's IP to Country Lite and MaxMind's GeoLite2 Country (a
record's country.iso_code). No real database is shipped or downloaded (docs/clicks.md)."""

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

# Documentation networks (RFC 5737, RFC 3849) and the countries the tests give them.
COUNTRIES = {
    "203.0.113.0/24": "DE",
    "198.51.100.0/24": "FR",
    "2001:db8::/32": "JP",
}


def write_country_database(path: Path, countries: dict[str, str] | None = None) -> Path:
    """Write the database to `path` (atomically: a reader never sees half of it)."""
    writer = MMDBWriter(
        ip_version=6, database_type="Test-Country", ipv4_compatible=True, description="tests"
    )
    for network, country in (COUNTRIES if countries is None else countries).items():
        writer.insert_network(
            IPSet([network]), {"country": {"iso_code": country, "names": {"en": country}}}
        )
    partial = path.with_name(path.name + ".partial")
    writer.to_db_file(str(partial))
    partial.replace(path)
    return path
