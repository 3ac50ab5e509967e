"""The sender's Prometheus metrics (GET :9101/metrics on the backend network), read from
the outbox when scraped, within a bounded wait (bounded.py): the deliveries by state, the
oldest pending one's age, the webhooks disabled.

shortener_webhook_outbox_up                      1 if this scrape read the outbox
shortener_webhook_deliveries{status}             deliveries kept, by status (pending,
                                                 delivered, failed; pruned by retention)
shortener_webhook_oldest_pending_age_seconds     how far delivery is behind
shortener_webhooks_disabled                      webhooks disabled after failures
"""

import logging
from collections.abc import Callable, Iterable

import psycopg
from prometheus_client.core import GaugeMetricFamily, Metric

from shortener_worker.bounded import BoundedRead
from shortener_worker.webhooks.outbox import OutboxState, outbox_state

log = logging.getLogger(__name__)

SCRAPE_WAIT_SECONDS = 3


class OutboxCollector:
    def __init__(self, connect: Callable[[], psycopg.Connection]) -> None:
        self._connect = connect
        self._read = BoundedRead(self._query, SCRAPE_WAIT_SECONDS, "metrics-outbox")

    def _query(self) -> OutboxState:
        with self._connect() as conn:
            return outbox_state(conn)

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("shortener_webhook_outbox_up", "1 if this scrape read the outbox.")
        try:
            state = self._read()
        except (psycopg.Error, TimeoutError) as error:
            log.warning("metrics: outbox unreadable", extra={"error": repr(error)})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        deliveries = GaugeMetricFamily(
            "shortener_webhook_deliveries",
            "Webhook deliveries kept, by status: pending, delivered, failed (for good).",
            labels=["status"],
        )
        for status, count in (
            ("pending", state.pending),
            ("delivered", state.delivered),
            ("failed", state.failed),
        ):
            deliveries.add_metric([status], count)
        yield deliveries
        yield GaugeMetricFamily(
            "shortener_webhook_oldest_pending_age_seconds",
            "Age of the oldest delivery not yet made (0: none): how far delivery is behind.",
            value=state.oldest_pending_seconds,
        )
        yield GaugeMetricFamily(
            "shortener_webhooks_disabled",
            "Webhooks disabled after too many failed deliveries in a row.",
            value=state.disabled_webhooks,
        )
