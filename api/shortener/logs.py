"""Logs: one JSON object per line on stdout, for the app and for uvicorn alike. Compose
collects stdout; a JSON line per event lets any log shipper parse it without regular
expressions. Every line logged while a request is handled carries its `request_id`. Secrets
are never passed to a logger (settings hold them as SecretStr), and an API key that a
client put in a URL is cut to its public prefix (KeyRedactingFilter)."""

import logging.config
from contextvars import ContextVar
from typing import Any

from shortener.key_format import KEY_IN_TEXT, KEY_MARKER

JSON_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def logging_config(level: str, access_log: bool = True) -> dict[str, Any]:
    """A dictConfig that sends every logger, uvicorn's included, through one JSON handler;
    without uvicorn's line per request when `access_log` is false (settings.access_log)."""
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": JSON_FORMAT,
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        # On the handler, not on a logger: a logger's filters do not see the records its
        # children propagate (uvicorn.access, shortener.*), a handler's see them all.
        "filters": {"request_id": {"()": RequestIdFilter}, "keys": {"()": KeyRedactingFilter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id", "keys"],
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
    if not access_log:
        # uvicorn writes access lines whenever this logger has a handler, its own
        # access_log option notwithstanding, once this configuration has been applied.
        config["loggers"]["uvicorn.access"] = {"handlers": [], "propagate": False}
    return config


def configure_logging(level: str, access_log: bool = True) -> None:
    logging.config.dictConfig(logging_config(level, access_log))


# The id of the request being handled: set by the request middleware (metrics.py) for the
# request's task, "" outside a request. A ContextVar, so concurrent requests on one event
# loop each see their own, and a background task of the response (the click's XADD) too.
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to each record logged during a request; the JSON formatter emits
    every extra attribute, so the line gets a "request_id" field. Lines outside a request
    (startup, shutdown) have none."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        if request_id:
            record.request_id = request_id
        return True


# Keys travel in the Authorization header, which nothing logs; but a client may put one in
# a URL (`?api_key=...`), and uvicorn's access log writes the whole URL.


class KeyRedactingFilter(logging.Filter):
    """Cuts every API key in a line down to its public prefix: `shk_AbCd1234[redacted]`,
    enough to tell which key to revoke, useless to anyone reading the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if KEY_MARKER in message:
            record.msg = KEY_IN_TEXT.sub(r"\1[redacted]", message)
            record.args = None
        return True
