"""The database's backups as Prometheus metrics, read from Postgres when scraped (the
worker's /metrics; docs/backups.md, "Metrics").

pgBackRest runs in the database container, beside the server; the worker reaches only the
server. So the server answers for it: backups.repository_info() (database/backup-status.sql)
returns `pgbackrest info` as JSON, and pg_stat_archiver counts the WAL segments archived
and the attempts that failed. Like the other worker metrics these are the system's, the
same from every replica (aggregate with max).

shortener_backup_status_up                          1 if this scrape read both, else 0
shortener_backup_repository_ok                      1 if pgBackRest reports the stanza ok
shortener_backup_sets                               backups in the repository
shortener_backup_last_completed_timestamp_seconds   the newest backup's end, by type
shortener_backup_wal_archived                       segments archived (counter)
shortener_backup_wal_archive_failures               failed archive attempts (counter)
shortener_backup_wal_last_archived_timestamp_seconds
shortener_backup_wal_last_failure_timestamp_seconds
shortener_volume_size_bytes{volume}                 the data and repository volumes' size
shortener_volume_free_bytes{volume}                 and the bytes left on them (database, backups)
"""

import logging
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from shortener_worker.backends import database
from shortener_worker.bounded import BoundedRead
from shortener_worker.settings import WorkerSettings

log = logging.getLogger(__name__)

BACKUP_TYPES = ("full", "diff", "incr")
# `pgbackrest info` reads the repository (a folder, or a bucket over the network): the
# query may take this long; a scrape waits SCRAPE_WAIT_SECONDS for it at most (bounded.py),
# the Redis collector's wait included well within Prometheus' own timeout (10 s).
SCRAPE_TIMEOUT_SECONDS = 5
SCRAPE_WAIT_SECONDS = 3
# A reading serves the scrapes of this many seconds: each one runs a program in the
# database container, and a client polling the metrics (the bench's drain, 4 a second)
# would otherwise compete with the work it watches. Backups change hourly at most.
READ_EVERY_SECONDS = 10

READ_STATUS = """
SELECT backups.repository_info(), archived_count, failed_count,
       last_archived_time, last_failed_time
FROM pg_stat_archiver
"""
READ_VOLUMES = "SELECT volume, size_bytes, free_bytes FROM backups.volume_usage()"


class Volume(NamedTuple):
    """One volume's filesystem as `df` sees it in the database container."""

    name: str
    size_bytes: int
    free_bytes: int


class Archiver(NamedTuple):
    """pg_stat_archiver's row: counts since the statistics were last reset."""

    archived: int
    failed: int
    last_archived: datetime | None
    last_failed: datetime | None


class Reading(NamedTuple):
    """What one query of the database says: the repository, the archiver, the volumes."""

    info: dict[str, Any]
    archiver: Archiver
    volumes: list[Volume]


def volume_metrics(volumes: Iterable[Volume]) -> list[Metric]:
    size = GaugeMetricFamily(
        "shortener_volume_size_bytes",
        "Size of the filesystem holding each volume (database: the data folder, backups: "
        "the repository).",
        labels=["volume"],
    )
    free = GaugeMetricFamily(
        "shortener_volume_free_bytes",
        "Bytes left for the server on the filesystem holding each volume.",
        labels=["volume"],
    )
    for volume in volumes:
        size.add_metric([volume.name], volume.size_bytes)
        free.add_metric([volume.name], volume.free_bytes)
    return [size, free]


def backup_metrics(info: Mapping[str, Any], archiver: Archiver) -> list[Metric]:
    """The metrics for one `pgbackrest info` report (its stanza's JSON object) and the
    archiver's row."""
    backups = info.get("backup", [])
    ok = GaugeMetricFamily(
        "shortener_backup_repository_ok",
        "1 if pgBackRest reports the stanza ok (backups present, repository readable), else 0.",
        value=1 if info.get("status", {}).get("code") == 0 else 0,
    )
    last = GaugeMetricFamily(
        "shortener_backup_last_completed_timestamp_seconds",
        "When the newest backup of each type (full, diff, incr) in the repository ended. "
        "Alert on time() - max(...) above the backup interval.",
        labels=["type"],
    )
    for backup_type in BACKUP_TYPES:
        ends = [b["timestamp"]["stop"] for b in backups if b.get("type") == backup_type]
        if ends:
            last.add_metric([backup_type], max(ends))
    metrics: list[Metric] = [
        ok,
        GaugeMetricFamily(
            "shortener_backup_sets",
            "Backups in the repository (every type; expired ones are gone).",
            value=len(backups),
        ),
        last,
        CounterMetricFamily(
            "shortener_backup_wal_archived",
            "WAL segments the server archived to the repository (pg_stat_archiver).",
            value=archiver.archived,
        ),
        CounterMetricFamily(
            "shortener_backup_wal_archive_failures",
            "Attempts to archive a WAL segment that failed; the server retries each.",
            value=archiver.failed,
        ),
    ]
    for name, moment, help_text in (
        ("last_archived", archiver.last_archived, "the last successful archiving"),
        ("last_failure", archiver.last_failed, "the last failed archive attempt"),
    ):
        if moment is not None:
            metrics.append(
                GaugeMetricFamily(
                    f"shortener_backup_wal_{name}_timestamp_seconds",
                    f"When {help_text} happened.",
                    value=moment.timestamp(),
                )
            )
    return metrics


class BackupCollector:
    """A prometheus_client collector: one short connection and one query per reading, a
    reading at most every READ_EVERY_SECONDS (failed ones are not kept)."""

    def __init__(self, settings: WorkerSettings) -> None:
        self._settings = settings
        self._last: tuple[float, Reading] | None = None
        self._bounded_query = BoundedRead(self._query, SCRAPE_WAIT_SECONDS, "metrics-backups")

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "shortener_backup_status_up",
            "1 if this scrape read the backup repository's status and the archiver's, else 0.",
        )
        try:
            reading = self._read()
        except (psycopg.Error, TimeoutError) as error:
            log.warning("metrics: backup status unreadable", extra={"error": repr(error)})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from backup_metrics(reading.info, reading.archiver)
        yield from volume_metrics(reading.volumes)

    def _read(self) -> Reading:
        now = time.monotonic()
        if self._last is None or now - self._last[0] >= READ_EVERY_SECONDS:
            self._last = (now, self._bounded_query())
        return self._last[1]

    def _query(self) -> Reading:
        with database(self._settings, connect_timeout=SCRAPE_TIMEOUT_SECONDS) as conn:
            conn.execute(f"SET statement_timeout = '{SCRAPE_TIMEOUT_SECONDS}s'")
            row = conn.execute(READ_STATUS).fetchone()
            volumes = [Volume(*volume) for volume in conn.execute(READ_VOLUMES)]
        if row is None:  # pg_stat_archiver always has its one row
            raise psycopg.DataError("pg_stat_archiver returned no row")
        info, *archiver = row
        return Reading(info or {}, Archiver(*archiver), volumes)
