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
"""

import logging
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from shortener_worker.backends import database
from shortener_worker.settings import WorkerSettings

log = logging.getLogger(__name__)

BACKUP_TYPES = ("full", "diff", "incr")
# `pgbackrest info` reads the repository (a folder, or a bucket over the network): a
# scrape waits this long for it at most; Prometheus' own timeout is 10 s by default.
SCRAPE_TIMEOUT_SECONDS = 5
# A reading serves the scrapes of this many seconds: each one runs a program in the
# database container, and a client polling the metrics (the bench's drain, 4 a second)
# would otherwise compete with the work it watches. Backups change hourly at most.
READ_EVERY_SECONDS = 10

READ_STATUS = """
SELECT backups.repository_info(), archived_count, failed_count,
       last_archived_time, last_failed_time
FROM pg_stat_archiver
"""


class Archiver(NamedTuple):
    """pg_stat_archiver's row: counts since the statistics were last reset."""

    archived: int
    failed: int
    last_archived: datetime | None
    last_failed: datetime | None


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
        self._last: tuple[float, dict[str, Any], Archiver] | None = None

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "shortener_backup_status_up",
            "1 if this scrape read the backup repository's status and the archiver's, else 0.",
        )
        try:
            info, archiver = self._read()
        except psycopg.Error as error:
            log.warning("metrics: backup status unreadable", extra={"error": str(error)})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from backup_metrics(info, archiver)

    def _read(self) -> tuple[dict[str, Any], Archiver]:
        now = time.monotonic()
        if self._last is None or now - self._last[0] >= READ_EVERY_SECONDS:
            self._last = (now, *self._query())
        return self._last[1], self._last[2]

    def _query(self) -> tuple[dict[str, Any], Archiver]:
        with database(self._settings, connect_timeout=SCRAPE_TIMEOUT_SECONDS) as conn:
            conn.execute(f"SET statement_timeout = '{SCRAPE_TIMEOUT_SECONDS}s'")
            row = conn.execute(READ_STATUS).fetchone()
        if row is None:  # pg_stat_archiver always has its one row
            raise psycopg.DataError("pg_stat_archiver returned no row")
        info, *archiver = row
        return info or {}, Archiver(*archiver)
