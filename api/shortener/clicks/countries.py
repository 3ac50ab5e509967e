"""The country of a click, looked up in the api process when the click is recorded, so the
client's address never leaves it (docs/clicks.md, "Countries").

Two sources, either or both configured by the operator, none by default:
- a header set by a CDN in front of nginx (COUNTRY_HEADER, e.g. `CF-IPCountry`), trusted
  only when named: a client can send any header it likes;
- an MMDB file (GEOIP_DATABASE_FILE): DB-IP's IP to Country Lite or MaxMind's GeoLite2
  Country. The project never ships nor downloads one (their licences: docs/clicks.md).

The header wins when it holds a country; else the file is asked. A country is two capital
letters (ISO 3166-1 alpha-2); anything else, an address the file does not know, no
source: "" (unknown), and the click is recorded all the same.

The file is watched, not read per click: at most every CHECK_SECONDS its identity (inode,
size, mtime) is compared with the one loaded, and a new file is loaded, so replacing it
needs no restart. It is copied into memory this process owns (a memfd) and mapped from
there: the C reader keeps its speed (the tree walked in C, not Python), and a file
rewritten in place (`cp new.mmdb db.mmdb` truncates it first) cannot pull pages from
under the mapping, which would kill the process with SIGBUS. A missing or unreadable file
logs one warning per file seen (not one per click), gives "", and makes readiness `warn`.

The reader decodes a whole record (a country's names in eight languages, its continent's,
the registered country's): most of a lookup's cost. Repeated addresses (a visitor's next
click, a NAT, a load test) are answered from a bounded cache of the loaded file's answers.
Measured: docs/performance.md, "Countries per click".
"""

import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import maxminddb
from maxminddb.errors import InvalidDatabaseError

log = logging.getLogger(__name__)

CHECK_SECONDS = 5.0
ADDRESS_CACHE = 8192  # addresses' countries kept per loaded file (~1 MB)
COUNTRY = re.compile(r"[A-Z]{2}")
# What CDNs send for "no country": Cloudflare's XX (unknown) and T1 (Tor).
NOT_COUNTRIES = frozenset({"XX", "T1"})


@dataclass(frozen=True)
class FileIdentity:
    """What changes when the file is replaced (renamed over) or rewritten."""

    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> "FileIdentity":
        status = path.stat()
        return cls(status.st_ino, status.st_size, status.st_mtime_ns)


def header_country(value: str) -> str:
    value = value.strip().upper()
    return value if COUNTRY.fullmatch(value) and value not in NOT_COUNTRIES else ""


def record_country(record: Any) -> str:
    """The country of a reader's record: GeoLite2's and DB-IP's both have country.iso_code."""
    if not isinstance(record, dict):
        return ""
    for key in ("country", "registered_country"):
        place = record.get(key)
        if isinstance(place, dict):
            code = place.get("iso_code")
            if isinstance(code, str) and COUNTRY.fullmatch(code):
                return code
    return ""


def look_up(reader: maxminddb.Reader, address: str) -> str:
    try:
        return record_country(reader.get(address))
    except (ValueError, InvalidDatabaseError):  # not an address; a damaged tree
        return ""


def open_private_copy(path: Path) -> maxminddb.Reader:
    """The file's bytes in an anonymous memory file of this process, opened by the reader
    (mapped, with the C extension where the wheel has it)."""
    data = path.read_bytes()
    fd = os.memfd_create("country-database", os.MFD_CLOEXEC)
    try:
        os.write(fd, data)
        # The reader opens the path and maps it; the memfd lives on in its mapping.
        return maxminddb.open_database(f"/proc/self/fd/{fd}", maxminddb.MODE_AUTO)
    finally:
        os.close(fd)


class CountryLookup:
    def __init__(
        self,
        database_file: Path | None,
        header: str = "",
        check_seconds: float | None = None,  # None: CHECK_SECONDS
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._file = database_file
        self._header = header.lower()
        self._check_seconds = CHECK_SECONDS if check_seconds is None else check_seconds
        self._clock = clock
        self._reader: maxminddb.Reader | None = None
        self._by_address: Callable[[str], str] = lambda _: ""
        self._seen: FileIdentity | None = None  # the file last tried, loaded or not
        self._problem = "" if database_file else "no country database configured"
        self._next_check = 0.0
        if database_file:
            self._refresh()

    def __call__(self, headers: Mapping[str, str], address: str) -> str:
        if self._header:
            country = header_country(headers.get(self._header, ""))
            if country:
                return country
        if self._current() is None or not address:
            return ""
        return self._by_address(address)

    def health(self) -> dict[str, Any]:
        """Readiness' `countries` check: warn while clicks get no country from a file."""
        self._current()
        if self._file is None and self._header:
            return {"status": "pass", "output": f"from the {self._header} header only"}
        if self._problem:
            return {"status": "warn", "output": self._problem}
        metadata = self._reader.metadata() if self._reader else None
        return {
            "status": "pass",
            "database": metadata.database_type if metadata else "",
            "built": metadata.build_epoch if metadata else 0,
        }

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._by_address = lambda _: ""

    def _current(self) -> maxminddb.Reader | None:
        if self._file is not None and self._clock() >= self._next_check:
            self._refresh()
        return self._reader

    def _refresh(self) -> None:
        assert self._file is not None
        self._next_check = self._clock() + self._check_seconds
        try:
            seen = FileIdentity.of(self._file)
        except OSError as error:
            self._give_up(None, f"{self._file}: {error.strerror}")
            return
        if seen == self._seen:
            return  # loaded already, or failed already and said so
        try:
            reader = open_private_copy(self._file)
            if FileIdentity.of(self._file) != seen:
                reader.close()  # changed while read: caught half-written, next check
                self._next_check = 0.0
                return
        except (OSError, InvalidDatabaseError, ValueError) as error:
            self._give_up(seen, f"{self._file}: {error}")
            return
        self.close()
        self._reader, self._seen, self._problem = reader, seen, ""
        # A new cache with each file: no answer of the old one outlives it.
        self._by_address = lru_cache(maxsize=ADDRESS_CACHE)(
            lambda address: look_up(reader, address)
        )
        metadata = reader.metadata()
        log.info(
            "country database loaded",
            extra={
                "file": str(self._file),
                "database": metadata.database_type,
                "built": metadata.build_epoch,
            },
        )

    def _give_up(self, seen: FileIdentity | None, problem: str) -> None:
        """No country from the file until it changes; said once, not once per click."""
        if seen != self._seen or not self._problem:
            log.warning("country database unusable, clicks get none", extra={"error": problem})
        self.close()
        self._seen, self._problem = seen, problem
