"""python -m shortener_certs [run | health | status | renew-now [--wait SECONDS]]

run        (default) keep the certificate: the `certs` service's command
health     exit 0 when the keeper answers on its metrics port (the healthcheck)
status     the served certificate (names, issuer, serial, validity, renewal time) and the
           keeper's last results: `make tls-status`
renew-now  ask the running keeper to renew at once (SIGUSR1 to it) and wait for the
           outcome; exit 0 when a new certificate was published: `make tls-renew`
"""

import argparse
import os
import signal
import sys
import time
import urllib.request
from datetime import UTC, datetime

from prometheus_client import start_http_server
from prometheus_client.parser import text_string_to_metric_families

from shortener_certs.certificate import read_certificate
from shortener_certs.keeper import Keeper
from shortener_certs.logs import configure_logging
from shortener_certs.metrics import KeeperMetrics
from shortener_certs.settings import CertsSettings, load_settings

KEEPER_PID = 1  # the service's command is exec'd: the keeper is the container's process 1


def keeper_metrics(settings: CertsSettings) -> dict[str, float]:
    """The running keeper's samples, by name and labels, from its own metrics port."""
    url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=3) as response:
        text = response.read().decode()
    return {
        sample.name
        + "".join(f"{{{k}={v}}}" for k, v in sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def status(settings: CertsSettings) -> int:
    certificate = read_certificate(settings.live_dir / "fullchain.pem")
    if certificate is None:
        print(f"no certificate yet for {settings.public_host} ({settings.live_dir} is empty)")
    else:
        left = certificate.not_after - datetime.now(UTC)
        print(f"names:       {', '.join(certificate.names)}")
        print(f"issuer:      {certificate.issuer}")
        print(f"serial:      {certificate.serial:x}")
        print(f"valid:       {certificate.not_before:%F %TZ} to {certificate.not_after:%F %TZ}")
        print(f"left:        {left.days} days {left.seconds // 3600} h")
        print(f"renewal due: {certificate.renewal_time():%F %TZ} (2/3 of its life, jittered)")
    samples = keeper_metrics(settings)
    next_at = samples.get("shortener_tls_next_renewal_timestamp_seconds", 0)
    print(f"CA:          {settings.acme_directory_url}")
    print(f"next try:    {datetime.fromtimestamp(next_at, UTC):%F %TZ}")
    print(
        "attempts:    {:.0f} succeeded, {:.0f} failed; {:.0f} failed since the last success".format(
            samples.get("shortener_tls_renewal_attempts_total{result=success}", 0),
            samples.get("shortener_tls_renewal_attempts_total{result=failure}", 0),
            samples.get("shortener_tls_renewal_consecutive_failures", 0),
        )
    )
    return 0


def renew_now(settings: CertsSettings, wait: float) -> int:
    before = keeper_metrics(settings)
    os.kill(KEEPER_PID, signal.SIGUSR1)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.5)
        after = keeper_metrics(settings)
        for result in ("success", "failure"):
            key = f"shortener_tls_renewal_attempts_total{{result={result}}}"
            if after.get(key, 0) > before.get(key, 0):
                print(f"renewal: {result} (the keeper's log says more)")
                return 0 if result == "success" else 1
    print(f"renewal: no outcome within {wait:.0f} s (the keeper's log says more)")
    return 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m shortener_certs")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="keep the certificate (default)")
    commands.add_parser("health", help="exit 0 when the keeper answers")
    commands.add_parser("status", help="the served certificate and the keeper's results")
    renew = commands.add_parser("renew-now", help="renew at once, wait for the outcome")
    renew.add_argument("--wait", type=float, default=180)
    args = parser.parse_args(argv)

    settings = load_settings()
    if args.command == "health":
        keeper_metrics(settings)
        return 0
    if args.command == "status":
        return status(settings)
    if args.command == "renew-now":
        return renew_now(settings, args.wait)
    configure_logging(settings.log_level)
    metrics = KeeperMetrics()
    start_http_server(settings.metrics_port, registry=metrics.registry)
    Keeper(settings, metrics).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
