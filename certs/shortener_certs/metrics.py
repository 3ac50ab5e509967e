"""The keeper's Prometheus metrics (GET :9102/metrics, the acme network only; read with
`make tls-status`). Alert on the remaining lifetime, not on single failures: a failed
attempt is retried, and a certificate renewed at 2/3 of its life has a third left.

shortener_tls_certificate_expiry_timestamp_seconds  when the served certificate expires
shortener_tls_certificate_remaining_seconds         its remaining lifetime, at scrape time
shortener_tls_next_renewal_timestamp_seconds        when the keeper will next try
shortener_tls_renewal_attempts_total{result}        success / failure
shortener_tls_renewal_consecutive_failures          0 after a success
"""

import time

from prometheus_client import CollectorRegistry, Counter, Gauge

from shortener_certs.certificate import Certificate


class KeeperMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._expiry = Gauge(
            "shortener_tls_certificate_expiry_timestamp_seconds",
            "When the served certificate expires (Unix time); absent before the first one.",
            registry=self.registry,
        )
        self._remaining = Gauge(
            "shortener_tls_certificate_remaining_seconds",
            "Seconds until the served certificate expires; absent before the first one.",
            registry=self.registry,
        )
        self._next = Gauge(
            "shortener_tls_next_renewal_timestamp_seconds",
            "When the keeper next asks the CA for a certificate (Unix time).",
            registry=self.registry,
        )
        self.attempts = Counter(
            "shortener_tls_renewal_attempts",
            "Certificate requests to the CA, by result.",
            ["result"],
            registry=self.registry,
        )
        self.consecutive_failures = Gauge(
            "shortener_tls_renewal_consecutive_failures",
            "Failed attempts since the last success.",
            registry=self.registry,
        )
        for result in ("success", "failure"):
            self.attempts.labels(result)

    def serving(self, certificate: Certificate | None) -> None:
        if certificate is None:
            return
        expiry = certificate.not_after.timestamp()
        self._expiry.set(expiry)
        self._remaining.set_function(lambda: expiry - time.time())

    def next_attempt(self, at: float) -> None:
        self._next.set(at)
