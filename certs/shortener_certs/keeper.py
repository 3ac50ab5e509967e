"""The keeper's loop: one certificate for PUBLIC_HOST, always valid, renewed in time.

    no certificate, or not for PUBLIC_HOST  -> ask the CA now
    a certificate                           -> ask at its renewal time (certificate.py)
    an attempt failed                       -> ask again after the retry delay, doubled
                                               per further failure (with jitter), capped
    SIGUSR1 (`make tls-renew`)              -> ask now
    SIGTERM                                 -> stop between attempts

A failure changes nothing that is served: nginx keeps the certificate it has until a new
one is published (publish.py). Failures are logged with certbot's words and counted
(metrics.py).
"""

import logging
import random
import signal
import threading
import time
from types import FrameType

from shortener_certs.certbot import ObtainFailed, obtain
from shortener_certs.certificate import Certificate, read_certificate
from shortener_certs.metrics import KeeperMetrics
from shortener_certs.publish import publish
from shortener_certs.settings import CertsSettings

log = logging.getLogger("shortener_certs")


def retry_delay(settings: CertsSettings, failures: int, rng: random.Random) -> float:
    """After the n-th failure in a row: the base delay doubled n-1 times, capped, +-10%."""
    delay = min(settings.acme_retry_max_seconds, settings.acme_retry_seconds * 2 ** (failures - 1))
    return delay * rng.uniform(0.9, 1.1)


class Keeper:
    def __init__(self, settings: CertsSettings, metrics: KeeperMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.failures = 0
        self.retry_at = 0.0
        self._wake = threading.Event()
        self._renew_now = False
        self._stopping = False
        self._rng = random.Random()

    def served(self) -> Certificate | None:
        return read_certificate(self.settings.live_dir / "fullchain.pem")

    def next_attempt(self, certificate: Certificate | None) -> float:
        """Unix time of the next request to the CA."""
        if self._renew_now:
            return time.time()
        if self.failures:
            return self.retry_at
        if certificate is None or not certificate.covers(self.settings.public_host):
            return time.time()
        return certificate.renewal_time().timestamp()

    def run(self) -> None:
        signal.signal(signal.SIGUSR1, self._on_renew_request)
        signal.signal(signal.SIGTERM, self._on_stop)
        while not self._stopping:
            certificate = self.served()
            self.metrics.serving(certificate)
            if certificate is None:
                log.info("no certificate yet for %s: asking the CA", self.settings.public_host)
            at = self.next_attempt(certificate)
            self.metrics.next_attempt(at)
            if at > time.time():
                log.info("next request to the CA at %s", time.strftime("%FT%TZ", time.gmtime(at)))
                self._wake.wait(at - time.time())
                self._wake.clear()
                continue  # woken early (a signal) or due: decide again
            self._renew_now = False
            self.attempt()

    def attempt(self) -> None:
        started = time.monotonic()
        try:
            lineage = obtain(self.settings)
            fresh = read_certificate(lineage / "fullchain.pem")
            if fresh is None:
                raise ObtainFailed(f"certbot succeeded but left no {lineage}/fullchain.pem")
            publish(lineage, self.settings.certificates_dir, fresh.serial)
        except (ObtainFailed, OSError) as error:
            self.failures += 1
            delay = retry_delay(self.settings, self.failures, self._rng)
            self.retry_at = time.time() + delay
            self.metrics.attempts.labels("failure").inc()
            self.metrics.consecutive_failures.set(self.failures)
            log.error(
                "no certificate for %s from %s (failure %d in a row; the served certificate"
                " is unchanged); retrying in %.0f s: %s",
                self.settings.public_host, self.settings.acme_directory_url,
                self.failures, delay, error,
            )  # fmt: skip
            return
        self.failures = 0
        self.metrics.attempts.labels("success").inc()
        self.metrics.consecutive_failures.set(0)
        log.info(
            "new certificate for %s published: serial %x, issuer %s, valid until %s (%.1f s)",
            ", ".join(fresh.names), fresh.serial, fresh.issuer,
            fresh.not_after.isoformat(), time.monotonic() - started,
        )  # fmt: skip

    def _on_renew_request(self, signum: int, frame: FrameType | None) -> None:
        self._renew_now = True
        self._wake.set()

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True
        self._wake.set()
