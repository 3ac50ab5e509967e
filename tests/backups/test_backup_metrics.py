"""The repository where BACKUP_REPOSITORY says, and the backup metrics the monitoring
alerts on (worker/shortener_worker/backup_metrics.py, docs/backups.md "Metrics"), read from
the real pgBackRest and server of the production variant."""

import time

import pytest

from tests.backups.conftest import POSTGRES_UID, BackupStack
from tests.e2e.stack import run
from tests.faults.traffic import wait_until

pytestmark = pytest.mark.e2e

FULL = 'shortener_backup_last_completed_timestamp_seconds{type="full"}'
ARCHIVED = "shortener_backup_wal_archived_total"
FAILURES = "shortener_backup_wal_archive_failures_total"
LAST_ARCHIVED = "shortener_backup_wal_last_archived_timestamp_seconds"
LAST_FAILURE = "shortener_backup_wal_last_failure_timestamp_seconds"


def test_the_repository_is_the_host_folder_the_setting_names(stack: BackupStack) -> None:
    assert stack.repository is not None
    stack.archived()
    for info in ("backup/shortener/backup.info", "archive/shortener/archive.info"):
        assert (stack.repository / info).stat().st_uid == POSTGRES_UID
    assert list((stack.repository / "archive" / "shortener").glob("*/*/*.zst"))


def test_a_folder_the_server_cannot_write_stops_it_naming_the_setting(
    stack: BackupStack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root_owned = tmp_path_factory.mktemp("not-the-servers")
    files = stack.file_args
    refused = run(
        ["docker", "compose", *files, "run", "--rm", "--no-deps", "-T", "database"],
        {**stack.env, "BACKUP_REPOSITORY": str(root_owned)},
        check=False,
        timeout=120,  # a server that starts anyway runs until then: red
    )
    assert refused.returncode != 0
    assert "BACKUP_REPOSITORY" in refused.stdout + refused.stderr, refused.stderr
    assert "is not writable by postgres" in refused.stdout + refused.stderr
    assert not any(root_owned.iterdir())


def test_the_metrics_follow_backups_and_archiving(stack: BackupStack) -> None:
    before = stack.metrics()
    assert before["shortener_backup_status_up"] == 1
    assert before["shortener_backup_repository_ok"] == 1
    # The schedule's first full backup, right after the first start.
    assert before[FULL] <= time.time()
    # Both volumes measured where they are: the repository is this tier's host folder.
    for volume in ("database", "backups"):
        size = before[f'shortener_volume_size_bytes{{volume="{volume}"}}']
        assert 0 < before[f'shortener_volume_free_bytes{{volume="{volume}"}}'] < size

    started = time.time()
    stack.backup("backup", "full")
    # A reading serves 10 s of scrapes (READ_EVERY_SECONDS): the next one has the backup.
    wait_until(lambda: stack.metrics()[FULL] >= int(started), 30)
    assert stack.metrics()["shortener_backup_sets"] >= before["shortener_backup_sets"]

    stack.archived()
    wait_until(lambda: stack.metrics()[ARCHIVED] > before[ARCHIVED], 30)
    assert stack.metrics()[LAST_ARCHIVED] >= int(started)


def test_an_archive_failure_shows_in_the_metrics(stack: BackupStack) -> None:
    assert stack.repository is not None
    archive = stack.repository / "archive"
    before = stack.metrics()
    # The fault: the repository's archive refuses writes (a full or read-only disk).
    run(["chmod", "-R", "a-w", str(archive)])
    try:
        # A write, then a segment switch: the server tries to archive it, and fails.
        stack.sql("CREATE TEMPORARY TABLE wal_maker AS SELECT 1 AS n")
        stack.sql("SELECT pg_switch_wal()")
        wait_until(lambda: stack.metrics()[FAILURES] > before[FAILURES], 60)
        failing = stack.metrics()
        assert failing[LAST_FAILURE] > failing[LAST_ARCHIVED]  # what an alert compares
    finally:
        run(["chmod", "-R", "u+w", str(archive)])
    # Writable again: the server's retries archive the segment, no operator step needed.
    wait_until(lambda: (now := stack.metrics())[LAST_ARCHIVED] > now[LAST_FAILURE], 120)
