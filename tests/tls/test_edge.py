"""HTTPS at the edge in acme mode: a certificate from scratch, port 80's redirect, HSTS,
the protocols and ciphers nginx accepts (docs/tls.md)."""

import re
import socket
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from tests.tls.conftest import (
    HOST,
    SNI,
    TlsStack,
    https_client,
    served_certificate,
    trusting,
    wait_for_certificate,
)

pytestmark = pytest.mark.e2e


def test_a_certificate_is_obtained_from_scratch_and_served(
    tls: TlsStack, pebble_roots: Path
) -> None:
    # The proxy started before any certificate existed, said what it waited for, and
    # switched to HTTPS when the keeper published one.
    first = wait_for_certificate(tls)
    logs = tls.compose("logs", "--no-color", "proxy")
    assert f"waiting for the first certificate for {HOST}" in logs, logs
    assert "nginx reloaded, serving HTTPS with it" in logs, logs

    # Verified as a browser would, trusting pebble's root only: the chain and the name.
    served = served_certificate(tls.https_port, trusting(pebble_roots))
    names = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [HOST]
    assert served.issuer.rfc4514_string().startswith("CN=Pebble Intermediate CA")
    assert first.serial_number  # a real certificate, before and after

    api_key = tls.create_api_key("tls")
    with https_client(tls, pebble_roots, api_key) as client:
        created = client.post(
            "/api/links", json={"url": "https://example.org/over-tls"}, extensions=SNI
        )
        assert created.status_code == 201, created.text
        link = created.json()
        assert link["short_url"] == f"https://{HOST}/{link['code']}"  # PUBLIC_BASE_URL
        followed = client.get(f"/{link['code']}", extensions=SNI)
    assert followed.status_code == 302
    assert followed.headers["location"] == "https://example.org/over-tls"
    assert followed.http_version in ("HTTP/1.1", "HTTP/2")


def test_port_80_redirects_everything_but_acme_challenges(
    tls: TlsStack, pebble_roots: Path
) -> None:
    wait_for_certificate(tls)
    # A challenge file, as certbot writes one (the keeper owns the volume).
    tls.exec(
        "certs", "sh", "-c",
        "mkdir -p /acme-challenges/.well-known/acme-challenge"
        " && printf token-body > /acme-challenges/.well-known/acme-challenge/test-token",
    )  # fmt: skip
    with httpx.Client(base_url=tls.base_url, headers={"Host": HOST}, timeout=10) as plain:
        for method, path in [
            ("GET", "/abc123"),
            ("GET", "/?q=1&r=2"),
            ("POST", "/api/links"),
            ("GET", "/api/docs"),
            ("GET", "/.well-known/other"),
        ]:
            answer = plain.request(method, path)
            assert answer.status_code == 308, (method, path, answer.status_code)
            assert answer.headers["location"] == f"https://{HOST}{path}"
            assert "strict-transport-security" not in answer.headers  # never over HTTP
        challenge = plain.get("/.well-known/acme-challenge/test-token")
        assert (challenge.status_code, challenge.text) == (200, "token-body")
        missing = plain.get("/.well-known/acme-challenge/no-such-token")
        assert missing.status_code == 404  # not redirected: the CA must never be
        assert missing.headers["content-type"] == "application/problem+json"
        assert plain.get("/nginx-health").status_code == 200

    with https_client(tls, pebble_roots) as client:
        answer = client.get("/", extensions=SNI)
    assert answer.status_code == 200
    assert answer.headers["strict-transport-security"] == "max-age=31536000"


def handshake(tls: TlsStack, version: ssl.TLSVersion, ciphers: str | None = None) -> str:
    """The protocol and cipher agreed with the proxy, offering only `version` (and only
    `ciphers`, for TLS 1.2), or the client's error when nginx refuses. The client allows
    what nginx should refuse (security level 0: old protocols and SHA-1 signatures), so a
    refusal is the server's."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = context.maximum_version = version
    context.set_ciphers(f"{ciphers or 'ALL'}:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", tls.https_port), timeout=5) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=HOST) as connection:
                name, protocol, _ = connection.cipher()
                return f"{protocol} {name}"
        except ssl.SSLError as error:
            return f"refused: {error.reason}"


# Python warns that it is asked for TLS 1.0 and 1.1: that is the point.
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_only_tls_12_and_13_with_strong_ciphers(tls: TlsStack) -> None:
    wait_for_certificate(tls)
    assert re.match(r"TLSv1\.3 TLS_", handshake(tls, ssl.TLSVersion.TLSv1_3))
    assert handshake(tls, ssl.TLSVersion.TLSv1_2).startswith("TLSv1.2 ECDHE-ECDSA-")
    assert handshake(tls, ssl.TLSVersion.TLSv1_1).startswith("refused")
    assert handshake(tls, ssl.TLSVersion.TLSv1).startswith("refused")
    # Ciphers outside Mozilla's intermediate list: CBC modes, SHA-1 MACs, no forward
    # secrecy. Each one alone is offered; each must be refused.
    for weak in ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-GCM-SHA256"]:
        assert handshake(tls, ssl.TLSVersion.TLSv1_2, weak).startswith("refused"), weak
    # The strong one of the same family is accepted (so the refusals are about ciphers).
    strong = handshake(tls, ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert strong == "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256"
