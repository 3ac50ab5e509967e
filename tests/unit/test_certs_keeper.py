"""The certificate keeper's pure parts (certs/shortener_certs): when to renew, how long to
wait after failures, what certbot is asked, how a certificate is published, and the
settings it refuses. Its work against a real CA is the TLS tier's (tests/tls)."""

import os
import random
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shortener_certs.certbot import certbot_command
from shortener_certs.certificate import Certificate, read_certificate
from shortener_certs.keeper import retry_delay
from shortener_certs.publish import publish
from shortener_certs.settings import ConfigurationError, load_settings
from tests.tls.authority import Authority

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def certificate(serial: int, days: float = 90) -> Certificate:
    return Certificate(("short.test",), "CA", serial, NOW, NOW + timedelta(days=days))


def test_renewal_comes_between_three_fifths_and_two_thirds_of_the_life() -> None:
    for days in (90, 6, 120 / 86400):
        times = [certificate(serial, days).renewal_time() for serial in range(500)]
        fractions = [(t - NOW) / timedelta(days=days) for t in times]
        assert min(fractions) >= 2 / 3 - 1 / 15 - 1e-9
        assert max(fractions) <= 2 / 3 + 1e-9
        # Spread out (hosts issued together do not renew together), not bunched up.
        assert max(fractions) - min(fractions) > 0.06


def test_a_certificate_always_gets_the_same_renewal_time() -> None:
    assert certificate(42).renewal_time() == certificate(42).renewal_time()
    assert certificate(42).renewal_time() != certificate(43).renewal_time()


def test_retries_double_up_to_the_cap_with_jitter(tmp_path: Path) -> None:
    settings = load_settings(
        public_host="short.test", acme_retry_seconds=60, acme_retry_max_seconds=3600
    )
    rng = random.Random(1)
    delays = [retry_delay(settings, failures, rng) for failures in range(1, 10)]
    for failures, delay in enumerate(delays, start=1):
        expected = min(3600, 60 * 2 ** (failures - 1))
        assert expected * 0.9 <= delay <= expected * 1.1, (failures, delay)


def test_certbot_is_asked_for_a_new_certificate_by_webroot_from_the_configured_ca() -> None:
    settings = load_settings(
        public_host="short.test", acme_directory_url="https://ca.test/dir", acme_email=""
    )
    command = certbot_command(settings)
    assert command[:2] == ["certbot", "certonly"]
    joined = " ".join(command)
    for expected in [
        "--server https://ca.test/dir",
        "--webroot --webroot-path /acme-challenges",
        "--domains short.test",
        "--cert-name shortener",
        "--force-renewal",  # the keeper decides when; certbot is not asked to second-guess
        "--non-interactive",
        "--register-unsafely-without-email",
    ]:
        assert expected in joined, expected
    with_email = certbot_command(load_settings(public_host="short.test", acme_email="ops@x.org"))
    assert "--email ops@x.org" in " ".join(with_email)


def test_publishing_swaps_the_live_pair_at_once_and_keeps_the_key_private(tmp_path: Path) -> None:
    authority = Authority.create("unit")
    lineage = tmp_path / "lineage"
    lineage.mkdir()
    published = []
    for serial in (1, 2, 3):
        chain, key = authority.issue("short.test")
        (lineage / "fullchain.pem").write_bytes(chain)
        (lineage / "privkey.pem").write_bytes(key)
        live = publish(lineage, tmp_path / "certs", serial)
        published.append(chain)
        assert live.is_symlink()
        assert os.readlink(live) == f"releases/{serial:x}"  # relative: same in every mount
        assert (live / "fullchain.pem").read_bytes() == chain
        assert stat.S_IMODE((live / "privkey.pem").stat().st_mode) == 0o640
    # The live release and the one before it stay; nothing half-made is left.
    assert sorted(p.name for p in (tmp_path / "certs" / "releases").iterdir()) == ["2", "3"]
    served = read_certificate(tmp_path / "certs" / "live" / "fullchain.pem")
    assert served is not None and served.names == ("short.test",)
    assert read_certificate(tmp_path / "nothing.pem") is None


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({}, "PUBLIC_HOST: is required but not set"),
        ({"public_host": "https://short.test"}, "PUBLIC_HOST: 'https://short.test' is not a DNS"),
        ({"public_host": "10.0.0.1"}, "PUBLIC_HOST: '10.0.0.1' is not a DNS name"),
        (
            {"public_host": "short.test", "acme_directory_url": "http://ca.test/dir"},
            "ACME_DIRECTORY_URL: 'http://ca.test/dir' is not an https:// URL",
        ),
        (
            {"public_host": "short.test", "acme_ca_root_file": "/no/such/file.pem"},
            "ACME_CA_ROOT_FILE: /no/such/file.pem cannot be read",
        ),
    ],
)
def test_bad_settings_stop_the_keeper_naming_them(
    settings: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("PUBLIC_HOST", "ACME_DIRECTORY_URL", "ACME_CA_ROOT_FILE"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ConfigurationError) as refused:
        load_settings(**settings)
    assert named in str(refused.value)


def test_an_empty_ca_root_setting_means_the_public_roots() -> None:
    assert load_settings(public_host="short.test", acme_ca_root_file="").acme_ca_root_file is None
