"""Logs: one JSON object per line on stdout, for the app and for uvicorn alike.

Compose collects stdout; a JSON line per event lets any log shipper parse it without
regular expressions. Secrets are never passed to a logger (settings hold them as SecretStr).
"""

import logging.config
from typing import Any

JSON_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def logging_config(level: str) -> dict[str, Any]:
    """A dictConfig that sends every logger, uvicorn's included, through one JSON handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": JSON_FORMAT,
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
        "loggers": {
            # uvicorn installs its own handlers unless told otherwise: route them to ours.
            name: {"handlers": [], "level": level, "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure_logging(level: str) -> None:
    logging.config.dictConfig(logging_config(level))
