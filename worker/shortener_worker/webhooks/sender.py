"""The webhook sender: the `webhooks` service's loop (python -m shortener_worker webhooks).

Every turn claims the due deliveries (outbox.py), signs each (Standard Webhooks,
signing.py) and sends them at once, `webhook_concurrency` at a time, each through the
SSRF guard and with a short timeout (send.py), then records each outcome: delivered, or
due again after the backoff (backoff.py), failed for good after the last attempt, the
webhook disabled after too many failures in a row.

Its own service, not a job of the worker's: the only one with a route out (the `egress`
network), and a receiver that hangs holds one of its threads, never a click's ingestion.
"""

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from shortener_worker.webhooks import outbox
from shortener_worker.webhooks.backoff import failures_allowed, next_attempt_delay
from shortener_worker.webhooks.send import Outcome, deliver
from shortener_worker.webhooks.settings import WebhookSettings
from shortener_worker.webhooks.signing import sign

log = logging.getLogger(__name__)

# The healthcheck reads this file's age (python -m shortener_worker webhooks-health).
HEARTBEAT = Path("/tmp/webhooks-heartbeat")  # noqa: S108 (the container's own tmpfs)


class Sender:
    def __init__(
        self,
        settings: WebhookSettings,
        connect: Callable[[], psycopg.Connection],
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._settings = settings
        self._connect = connect
        self._clock = clock
        self._jitter = jitter
        self._threads = ThreadPoolExecutor(settings.webhook_concurrency, "webhook-send")
        self._conn: psycopg.Connection | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def run_once(self) -> int:
        """One turn: claim, send, record. The number of deliveries attempted."""
        conn = self._connection()
        settings = self._settings
        # The lease covers a whole turn's sends, with room to spare.
        lease = timedelta(seconds=4 * settings.webhook_timeout_seconds + 30)
        due = outbox.claim_due(conn, self.now(), settings.webhook_concurrency * 4, lease)
        outcomes = list(self._threads.map(self._send, due))
        for delivery, outcome in zip(due, outcomes, strict=True):
            self._record(conn, delivery, outcome)
        return len(due)

    def run(self, stop: threading.Event) -> None:
        log.info(
            "webhook sender started", extra={"concurrency": self._settings.webhook_concurrency}
        )
        while not stop.is_set():
            try:
                attempted = self.run_once()
            except psycopg.Error as error:
                log.warning("webhook outbox unreadable", extra={"error": str(error)})
                self._close()
                attempted = 0
            HEARTBEAT.touch()
            if not attempted:
                stop.wait(self._settings.webhook_poll_seconds)
        self._threads.shutdown(wait=True)
        self._close()

    def _send(self, delivery: outbox.DueDelivery) -> Outcome:
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        headers = {
            **sign(delivery.secret, delivery.message_id, int(self._clock()), body),
            "Content-Type": "application/json",
        }
        return deliver(
            delivery.url,
            body,
            headers,
            timeout=self._settings.webhook_timeout_seconds,
            allowed_networks=self._settings.allowed_networks,
            own_hosts=self._settings.refused_hosts,
        )

    def _record(
        self, conn: psycopg.Connection, delivery: outbox.DueDelivery, outcome: Outcome
    ) -> None:
        context = {
            "delivery": delivery.id,
            "webhook": delivery.webhook_id,
            "attempt": delivery.attempts,
        }
        if outcome.delivered:
            outbox.record_delivered(conn, delivery, outcome.status or 0)
            log.info("webhook delivered", extra={**context, "status": outcome.status})
            return
        settings = self._settings
        delay = next_attempt_delay(
            delivery.attempts,
            base_seconds=settings.webhook_backoff_base_seconds,
            cap_seconds=settings.webhook_backoff_cap_seconds,
            random_fraction=self._jitter,
        )
        disabled = outbox.record_failed(
            conn,
            delivery,
            now=self.now(),
            status=outcome.status,
            error=outcome.error,
            retry_in=timedelta(seconds=delay),
            max_attempts=settings.webhook_max_attempts,
            disable_after=failures_allowed(outcome.status, settings.webhook_disable_after),
        )
        log.warning(
            "webhook delivery failed",
            extra={**context, "status": outcome.status, "error": outcome.error, "retry_in": delay},
        )
        if disabled:
            log.warning("webhook disabled after failures in a row", extra=context)

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
