"""The short codes `make bench` asks for: seeded straight into Postgres, and handed out fresh
to each repetition's cache misses.

10,000 hit codes (`bh000000`...), asked with Zipf popularity and cached beforehand; 120,000
miss codes per repetition (`bm000000`...), each asked once. FreshCodes keeps the misses of
one repetition from asking what an earlier one asked (tests/unit/test_bench_codes.py).
"""

import sys
from pathlib import Path

from tests.e2e.stack import Stack

# Seeded straight into Postgres: links the redirect scenarios ask for; the misses take
# fresh codes in every repetition.
HIT_CODES = 10_000
MISS_CODES_PER_REPETITION = 120_000


def seed_links(stack: Stack, miss_codes: int) -> tuple[list[str], list[str], range]:
    """Hit and miss codes, inserted in one statement each (no API quota, no cache fill);
    and the ids of the hit links."""
    hits = [f"bh{n:06d}" for n in range(HIT_CODES)]
    misses = [f"bm{n:06d}" for n in range(miss_codes)]
    first_hit = stack.sql(
        "INSERT INTO shortener.links (code, url)"  # noqa: S608 (constants of this module)
        " SELECT 'bh' || lpad(n::text, 6, '0'), 'https://example.org/hit/' || n"
        f" FROM generate_series(0, {HIT_CODES - 1}) n;"
        "INSERT INTO shortener.links (code, url)"
        " SELECT 'bm' || lpad(n::text, 6, '0'), 'https://example.org/miss/' || n"
        f" FROM generate_series(0, {miss_codes - 1}) n;"
        "ANALYZE shortener.links;"
        "SELECT min(id) FROM shortener.links WHERE code LIKE 'bh%';"
    )
    # Fresh tables: the ids are one sequence's, so these are hit links (or, were there a
    # gap, miss links that follow them): every synthetic click is of a link that exists.
    first = int(first_hit.split()[-1])
    return hits, misses, range(first, first + HIT_CODES)


class FreshCodes:
    """Codes never asked yet, for the cache misses of each repetition: the hit codes
    first (so the first misses also fill the cache for the hits), then the miss codes."""

    def __init__(self, hits: list[str], misses: list[str]) -> None:
        self.hits = hits
        self.codes = hits + misses
        self.position = 0

    def write(self, path: Path) -> Path:
        path.write_text("\n".join(self.codes[self.position :]) + "\n")
        return path

    def asked(self, requests: int, connections: int) -> list[str]:
        """Move past what a run asked (plus the requests still in flight when it ended);
        the hit codes it did not reach, to be asked once before the hits are measured."""
        self.position += requests + connections
        rest = self.hits[self.position :]
        self.position = max(self.position, len(self.hits))
        if self.position > len(self.codes):
            print(
                "bench: the miss scenario ran out of fresh codes: some were hits", file=sys.stderr
            )
        return rest
