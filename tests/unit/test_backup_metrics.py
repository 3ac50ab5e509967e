"""The backup metrics (worker/shortener_worker/backup_metrics.py) from `pgbackrest info`'s
JSON, as pgBackRest 2.55 printed it for the shortener's stanza, and pg_stat_archiver's row."""

import json
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric

from shortener_worker.backup_metrics import Archiver, Volume, backup_metrics, volume_metrics

# One full and one differential backup; trimmed to the fields the metrics read and a few.
INFO = json.loads("""
{"archive":[{"id":"17-1","max":"000000010000000000000007","min":"000000010000000000000001"}],
 "backup":[
  {"label":"20261207-122841F","type":"full","error":false,
   "timestamp":{"start":1796646521,"stop":1796646522}},
  {"label":"20261207-122841F_20261207-130000D","type":"diff","error":false,
   "timestamp":{"start":1796648400,"stop":1796648405}}],
 "name":"shortener",
 "status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}
""")
NO_BACKUP = {
    "backup": [],
    "name": "shortener",
    "status": {"code": 2, "message": "no valid backups"},
}
ARCHIVER = Archiver(7, 0, datetime(2026, 12, 7, 13, 1, tzinfo=UTC), None)


class Fixed:
    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> list[Metric]:
        return self._metrics


def sampled(metrics: list[Metric]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Fixed(metrics))
    return registry


def test_a_sound_repository_reports_the_newest_backup_of_each_type() -> None:
    registry = sampled(backup_metrics(INFO, ARCHIVER))
    assert registry.get_sample_value("shortener_backup_repository_ok") == 1
    assert registry.get_sample_value("shortener_backup_sets") == 2
    last = "shortener_backup_last_completed_timestamp_seconds"
    assert registry.get_sample_value(last, {"type": "full"}) == 1796646522
    assert registry.get_sample_value(last, {"type": "diff"}) == 1796648405
    assert registry.get_sample_value(last, {"type": "incr"}) is None
    assert registry.get_sample_value("shortener_backup_wal_archived_total") == 7
    assert registry.get_sample_value("shortener_backup_wal_archive_failures_total") == 0
    assert (
        registry.get_sample_value("shortener_backup_wal_last_archived_timestamp_seconds")
        == ARCHIVER.last_archived.timestamp()
    )  # type: ignore[union-attr]
    # Never failed: no timestamp rather than a made-up 0 (1970) an alert would compare.
    assert registry.get_sample_value("shortener_backup_wal_last_failure_timestamp_seconds") is None


def test_a_stanza_without_backups_is_not_ok_and_has_no_backup_time() -> None:
    registry = sampled(backup_metrics(NO_BACKUP, Archiver(0, 3, None, datetime.now(UTC))))
    assert registry.get_sample_value("shortener_backup_repository_ok") == 0
    assert registry.get_sample_value("shortener_backup_sets") == 0
    assert (
        registry.get_sample_value(
            "shortener_backup_last_completed_timestamp_seconds", {"type": "full"}
        )
        is None
    )
    assert registry.get_sample_value("shortener_backup_wal_archive_failures_total") == 3


def test_each_volume_reports_its_size_and_free_bytes() -> None:
    registry = sampled(
        volume_metrics([Volume("database", 1000, 250), Volume("backups", 4000, 3000)])
    )
    for volume, size, free in (("database", 1000, 250), ("backups", 4000, 3000)):
        labels = {"volume": volume}
        assert registry.get_sample_value("shortener_volume_size_bytes", labels) == size
        assert registry.get_sample_value("shortener_volume_free_bytes", labels) == free
