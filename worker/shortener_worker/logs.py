"""Logs: one JSON object per line on stdout (RQ's own loggers included)."""

import logging
import logging.config


def configure_logging(level: str) -> None:
    # RQ logs several INFO lines per job, and the cron scheduler one per enqueue: with an
    # ingestion run every second that is noise, so below DEBUG they show from WARNING up
    # (failures still do). Our own jobs log one line per run that did something.
    rq_level = "DEBUG" if level == "DEBUG" else max(level, "WARNING", key=logging.getLevelName)
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "json": {
                    "()": "pythonjsonlogger.json.JsonFormatter",
                    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                }
            },
            "handlers": {
                "stdout": {
                    "class": "logging.StreamHandler",
                    "formatter": "json",
                    "stream": "ext://sys.stdout",
                }
            },
            "root": {"handlers": ["stdout"], "level": level},
            # RQ adds a plain-text handler to "rq.worker" unless one is present.
            "loggers": {
                "rq": {"handlers": [], "level": level, "propagate": True},
                "rq.worker": {"level": rq_level},
                "rq.cron": {"level": rq_level},
            },
        }
    )
