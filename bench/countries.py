"""Country lookup benchmark (not a test): what clicks/countries.py adds to recording one
click, in-process, against a country database of realistic depth written here (the
project ships no real one; docs/clicks.md, "Countries").

    make bench-countries                          # 100,000 networks, 200,000 lookups
    make bench-countries ARGS="--networks 50000"

Prints microseconds per lookup for each way a click can go: through the file (the
reader's C extension, mapped from the process's own copy) for an address not seen
recently (more than the cache holds: a miss each time) and for one seen (a hit), through a
trusted header, and with no source configured; and the reader's mode, so a run without
the C extension (pure Python: ~25x slower) shows it.
"""

import argparse
import ipaddress
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

from shortener.clicks.countries import CountryLookup

CODES = ["DE", "FR", "US", "GB", "JP", "BR", "IN", "CN", "NL", "SE", "IT", "ES", "PL", "CA"]


LANGUAGES = ["de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"]


def place(code: str) -> dict[str, object]:
    """A place as GeoLite2 Country has it: names in eight languages (the reader decodes a
    whole record, so its size is part of a lookup's cost)."""
    return {
        "geoname_id": 2921044,
        "iso_code": code,
        "names": {lang: code * 6 for lang in LANGUAGES},
    }


def write_database(path: Path, networks: int, seed: int) -> list[str]:
    """`networks` random /24s and /48s, split among the countries (a real IPv4 table has
    ~400,000 ranges; the tree's depth, not its size, sets a lookup's cost). Returns the
    IPv4 networks."""
    rng = random.Random(seed)
    by_country: dict[str, list[str]] = {code: [] for code in CODES}
    for n in range(networks):
        code = CODES[n % len(CODES)]
        if n % 5:
            by_country[code].append(f"{ipaddress.IPv4Address(rng.getrandbits(24) << 8)}/24")
        else:
            prefix = (0x2001_0DB8 << 96) | (rng.getrandbits(16) << 80)
            by_country[code].append(f"{ipaddress.IPv6Address(prefix)}/48")
    writer = MMDBWriter(ip_version=6, database_type="Bench-Country", ipv4_compatible=True)
    for code, nets in by_country.items():
        record = {
            "continent": {"code": "EU", "geoname_id": 6255148, "names": place(code)["names"]},
            "country": place(code),
            "registered_country": place(code),
        }
        writer.insert_network(IPSet(nets), record)
    writer.to_db_file(str(path))
    return [net for nets in by_country.values() for net in nets if "." in net]


def per_call_us(lookup: CountryLookup, headers: dict[str, str], addresses: list[str]) -> float:
    """Median of 5 passes over the addresses, in microseconds per call."""
    passes = []
    for _ in range(5):
        started = time.perf_counter()
        for address in addresses:
            lookup(headers, address)
        passes.append((time.perf_counter() - started) / len(addresses) * 1e6)
    return statistics.median(passes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed + 1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "country.mmdb"
        started = time.perf_counter()
        known = write_database(path, args.networks, args.seed)
        # Most clicks come from addresses a real database knows: 9 in 10 here.
        addresses = [
            str(ipaddress.IPv4Network(rng.choice(known))[rng.randrange(256)])
            if n % 10
            else str(ipaddress.IPv4Address(rng.getrandbits(32)))
            for n in range(args.lookups)
        ]
        print(
            f"database: {args.networks} networks, {path.stat().st_size / 1e6:.1f} MB, "
            f"written in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        from_file = CountryLookup(path)
        print(f"load (private copy, mapped): {(time.perf_counter() - started) * 1000:.1f} ms")
        mode = type(from_file._reader).__module__  # the C extension, or pure Python
        found = sum(1 for a in addresses[:10_000] if from_file({}, a)) / 100
        rows = [
            ("file, each address new", per_call_us(from_file, {}, addresses)),
            ("file, address repeated", per_call_us(from_file, {}, addresses[:1000] * 200)),
            (
                "header",
                per_call_us(CountryLookup(None, "CF-IPCountry"), {"cf-ipcountry": "DE"}, addresses),
            ),
            ("none", per_call_us(CountryLookup(None), {}, addresses)),
        ]
        from_file.close()
    print(f"reader: {mode}; {found:.0f}% of random addresses found")
    for source, us in rows:
        print(f"  {source:<24} {us:6.2f} us per click")
    print(f"machine: {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
