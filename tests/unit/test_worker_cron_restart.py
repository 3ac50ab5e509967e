"""The cron scheduler's process starts RQ's loop again after an error (a Redis outage):
found in the faults tier, its own log line about the restart raised (a `name` in `extra`
clashes with the log record's own), so the process died and nothing enqueued ingestion
any more."""

import logging
from pathlib import Path

import pytest
from rq.exceptions import StopRequested

from shortener_worker import schedule
from shortener_worker.settings import load_settings


def test_a_failing_cron_scheduler_is_started_again_and_the_failure_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("x")
    settings = load_settings(
        database_host="db", database_name="shortener", database_user="app",
        database_password_file=str(secret), redis_host="cache", redis_password_file=str(secret),
    )  # fmt: skip
    starts = []

    def build_cron(*args: object, **kwargs: object) -> object:
        starts.append(1)
        if len(starts) == 1:
            raise ConnectionError("Redis went away")  # what an outage does to the first run
        raise StopRequested()  # the second: stop, as SIGTERM would

    monkeypatch.setattr(schedule, "build_cron", build_cron)
    monkeypatch.setattr(schedule.time, "sleep", lambda seconds: None)
    with caplog.at_level(logging.ERROR, logger=schedule.log.name):
        schedule.run_cron(settings, "worker-1.cron")
    assert len(starts) == 2  # started again after the failure
    (failure,) = caplog.records
    assert failure.getMessage() == "cron scheduler failed; starting again"
    assert failure.scheduler == "worker-1.cron"  # type: ignore[attr-defined]
