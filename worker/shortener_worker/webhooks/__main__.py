"""python -m shortener_worker.webhooks [run | health]

run     (default) the webhook sender: the `webhooks` service's command (sender.py)
health  exit 0 if the sender's loop turned recently (the healthcheck)
"""

import signal
import sys
import threading
import time
from collections.abc import Callable
from functools import partial

import psycopg
from prometheus_client import CollectorRegistry, start_http_server

from shortener_worker.backends import connect
from shortener_worker.logs import configure_logging
from shortener_worker.webhooks.metrics import OutboxCollector
from shortener_worker.webhooks.sender import HEARTBEAT, Sender
from shortener_worker.webhooks.settings import WebhookSettings, load_webhook_settings


def connector(settings: WebhookSettings) -> Callable[[], psycopg.Connection]:
    return partial(connect, settings, application_name="shortener-webhooks", autocommit=True)


def healthy(settings: WebhookSettings) -> bool:
    """The loop turns at least every poll interval, a turn's sends at most four timeouts."""
    budget = 4 * settings.webhook_timeout_seconds + settings.webhook_poll_seconds + 20
    return HEARTBEAT.exists() and time.time() - HEARTBEAT.stat().st_mtime < budget


def main(argv: list[str]) -> int:
    settings = load_webhook_settings()
    if argv[:1] == ["health"]:
        return 0 if healthy(settings) else 1
    configure_logging(settings.log_level)
    connect = connector(settings)
    if settings.metrics_port:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(OutboxCollector(connect))
        start_http_server(settings.metrics_port, addr="0.0.0.0", registry=registry)  # noqa: S104
    stop = threading.Event()
    # SIGTERM (compose stop): the sends in hand finish (at most a timeout), then it exits.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    Sender(settings, connect).run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
