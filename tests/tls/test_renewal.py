"""Renewal in acme mode: by the keeper's own schedule, forced under steady load (nothing
dropped, nginx's master never restarted), and with the CA unreachable (the certificate
kept, the failure logged and counted, retried with backoff) (docs/tls.md)."""

import json
import re
import threading
import time
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import run
from tests.faults.traffic import Flow, Traffic, summary, wait_until
from tests.tls.conftest import (
    SNI,
    VALIDITY_SECONDS,
    TlsStack,
    https_client,
    keeper_metric,
    proxy_master_pid,
    served_certificate,
    trusting,
    wait_for_certificate,
)

pytestmark = pytest.mark.e2e

REDIRECTS_PER_SECOND = 40


def serial(stack: TlsStack) -> int:
    return served_certificate(stack.https_port).serial_number


def test_the_keeper_renews_at_two_thirds_of_the_life_by_itself(tls: TlsStack) -> None:
    # pebble's certificates live VALIDITY_SECONDS: the keeper's schedule comes due within
    # the test. Renewal between 3/5 and 2/3 of the life (certs/shortener_certs/certificate.py),
    # then the keeper's request (a few seconds) and nginx's next look (every 5 s).
    current = wait_for_certificate(tls)
    life = (current.not_valid_after_utc - current.not_valid_before_utc).total_seconds()
    assert life == pytest.approx(VALIDITY_SECONDS, abs=1)
    renewed_at = wait_until(lambda: serial(tls) != current.serial_number, timeout=life)
    age = time.time() - (time.monotonic() - renewed_at) - current.not_valid_before_utc.timestamp()
    print(f"renewed by itself {age:.0f} s into a {life:.0f} s life ({age / life:.2f})")
    assert 0.6 * life - 1 <= age <= 2 / 3 * life + 15, age
    expiry = keeper_metric(tls, "shortener_tls_certificate_expiry_timestamp_seconds")
    assert expiry == served_certificate(tls.https_port).not_valid_after_utc.timestamp()
    remaining = keeper_metric(tls, "shortener_tls_certificate_remaining_seconds")
    assert 0 < remaining <= VALIDITY_SECONDS


def test_a_forced_renewal_under_load_drops_no_request(tls: TlsStack, pebble_roots: Path) -> None:
    wait_for_certificate(tls)
    api_key = tls.create_api_key("tls-load")
    with https_client(tls, pebble_roots, api_key) as client:
        codes = [
            client.post(
                "/api/links", json={"url": f"https://example.org/tls/{n}"}, extensions=SNI
            ).json()["code"]
            for n in range(5)
        ]
    master, container = proxy_master_pid(tls), tls.inspect(tls.container("proxy"))
    before = serial(tls)

    cycle = iter(codes * 100_000)
    lock = threading.Lock()
    resent: list[str] = []

    def follow(client: httpx.Client) -> httpx.Response:
        with lock:
            code = next(cycle)
        try:
            return client.get(f"/{code}", extensions=SNI)
        except httpx.RemoteProtocolError:
            # The reload's old worker closed this idle keep-alive connection as the GET
            # went out, before any byte of an answer: sent again on a new connection, as
            # browsers and HTTP clients do for an idempotent request (RFC 9112, 9.3.1).
            # Counted, and bounded below; anything else fails the request.
            with lock:
                resent.append(code)
            return client.get(f"/{code}", extensions=SNI)

    traffic = Traffic(
        tls.https_url,
        [Flow("redirect", REDIRECTS_PER_SECOND, follow, 4)],
        headers={"Host": "short.test"},
        verify=trusting(pebble_roots),
    )
    with traffic:
        time.sleep(3)
        renewal = tls.compose(
            "exec", "-T", "certs", "python", "-m", "shortener_certs", "renew-now", timeout=200
        )
        wait_until(lambda: serial(tls) != before, timeout=30)
        time.sleep(3)  # requests on the new workers, and old connections closing

    redirects = traffic.of("redirect")
    failed = [o for o in redirects if o.status != 302]
    print(
        f"{len(redirects)} redirects over HTTPS during a forced renewal, {len(resent)} sent"
        f" again after a closed keep-alive connection: {summary(failed)}"
    )
    assert "renewal: success" in renewal
    assert len(redirects) > 10 * REDIRECTS_PER_SECOND * 0.8
    assert failed == [], summary(failed)
    # At most once per connection and reload (4 connections; a scheduled renewal may fall
    # in the same seconds as the forced one).
    assert len(resent) <= 8, resent
    # The same nginx: its master process and container, reloaded, never restarted.
    assert proxy_master_pid(tls) == master
    after = tls.inspect(tls.container("proxy"))
    assert (after["Id"], after["State"]["StartedAt"], after["RestartCount"]) == (
        container["Id"], container["State"]["StartedAt"], container["RestartCount"],
    )  # fmt: skip


def keeper_log(tls: TlsStack, since: str) -> list[dict]:
    lines = run(["docker", "logs", "--since", since, tls.container("certs")]).stdout
    return [json.loads(line) for line in lines.splitlines() if line.startswith("{")]


def test_an_unreachable_ca_keeps_the_certificate_and_retries_with_backoff(
    tls: TlsStack, pebble_roots: Path
) -> None:
    wait_for_certificate(tls)
    network = f"{tls.name}_acme"
    pebble = tls.container("pebble")
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    kept = serial(tls)
    run(["docker", "network", "disconnect", network, pebble])
    try:
        outcome = tls.compose(
            "exec", "-T", "certs", "python", "-m", "shortener_certs", "renew-now",
            check=False, timeout=200,
        )  # fmt: skip
        assert "renewal: failure" in outcome
        # Retried by itself, later each time: RETRY_SECONDS, then twice that (+-10%).
        wait_until(
            lambda: keeper_metric(tls, "shortener_tls_renewal_consecutive_failures") >= 3,
            timeout=60,
        )
        failures = [e for e in keeper_log(tls, started) if e["level"] == "ERROR"]
        assert len(failures) >= 3, failures
        assert "the served certificate is unchanged" in failures[0]["message"]
        assert "pebble" in failures[0]["message"]  # certbot's words: what it could not reach
        # Backing off: each failure's stated wait doubles (RETRY_SECONDS, then twice that,
        # +-10%), and the next attempt came no sooner than stated. The gaps themselves also
        # hold certbot's own time, which a busy machine stretches.
        waits = [float(re.search(r"retrying in (\d+) s", e["message"])[1]) for e in failures]
        times = [datetime.strptime(e["time"], "%Y-%m-%d %H:%M:%S,%f") for e in failures]
        gaps = [round((later - earlier).total_seconds(), 1) for earlier, later in pairwise(times)]
        print(f"attempts {len(failures)}, waits {waits} s, gaps {gaps} s")
        assert waits[1] >= 1.5 * waits[0], waits  # the wait doubled
        assert all(gap >= wait - 0.5 for gap, wait in zip(gaps, waits, strict=False)), (gaps, waits)
        # Still served, still trusted, still redirecting.
        assert serial(tls) == kept
        with https_client(tls, pebble_roots) as client:
            assert client.get("/", extensions=SNI).status_code == 200
    finally:
        run(["docker", "network", "connect", "--alias", "pebble", network, pebble])
    # The CA back: the next retry succeeds, a new certificate is served.
    wait_until(lambda: serial(tls) != kept, timeout=60)
    wait_until(
        lambda: keeper_metric(tls, "shortener_tls_renewal_consecutive_failures") == 0,
        timeout=10,
    )
