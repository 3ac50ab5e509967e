"""One delivery over HTTPS: the socket goes to the checked address, while the TLS name
(SNI) and the certificate check are the URL's host, receiver.test.

A CA and its certificates are made here; the receiver (webhook_receiver.py) listens on
127.0.0.1 and a stand-in resolver answers receiver.test with that address.
"""

import datetime
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shortener_worker.webhooks.send import Outcome, deliver
from shortener_worker.webhooks.signing import new_secret, sign
from tests.unit.webhook_receiver import Receiver, running

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]
BODY = b'{"type":"link.created"}'
SIGNED = sign(new_secret(), "msg_1", 1_700_000_000, BODY)


class Authority:
    """A certificate authority that issues server certificates, written as PEM files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook tests CA")])
        self.certificate = (
            self._builder(name, name, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        self.file = directory / "ca.pem"
        self.file.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, host: str) -> tuple[str, str]:
        """Files of a certificate for `host` and its key."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
        certificate = (
            self._builder(subject, self.certificate.subject, key.public_key())
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            # Both key identifiers: Python 3.13's default context checks strictly (X.509
            # strict mode), as the worker image's Python will.
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        certificate_file = self.directory / f"{host}.pem"
        key_file = self.directory / f"{host}.key"
        certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return str(certificate_file), str(key_file)

    @staticmethod
    def _builder(
        subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
    ) -> x509.CertificateBuilder:
        now = datetime.datetime.now(datetime.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
        )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return Authority(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trusting(authority: Authority) -> ssl.SSLContext:
    """A client context that trusts our CA only, verification on as by default."""
    return ssl.create_default_context(cafile=str(authority.file))


def tls_receiver(authority: Authority, host: str) -> Receiver:
    receiver = Receiver()
    receiver.serve_tls(*authority.issue(host))
    return receiver


@pytest.fixture
def receiver(authority: Authority) -> Iterator[Receiver]:
    with running(tls_receiver(authority, "receiver.test")) as server:
        yield server


def to_loopback(host: str, port: int) -> list[str]:
    """A stand-in for DNS: every name is 127.0.0.1."""
    return ["127.0.0.1"]


def send(url: str, **options: object) -> Outcome:
    settings: dict = {
        "timeout": 2.0,
        "allowed_networks": LOOPBACK,
        "own_hosts": (),
        "resolver": to_loopback,
    }
    settings.update(options)
    return deliver(url, BODY, SIGNED, **settings)


def test_tls_names_the_urls_host_while_the_socket_goes_to_the_checked_address(
    receiver: Receiver, trusting: ssl.SSLContext
) -> None:
    outcome = send(f"https://receiver.test:{receiver.port}/ok", ssl_context=trusting)

    assert (outcome.delivered, outcome.status, outcome.error) == (True, 200, "")
    assert receiver.server_names == ["receiver.test"]  # SNI
    [request] = receiver.requests
    assert request.headers["host"] == f"receiver.test:{receiver.port}"
    assert request.body == BODY


def test_a_certificate_for_another_name_is_refused(
    authority: Authority, trusting: ssl.SSLContext
) -> None:
    with running(tls_receiver(authority, "other.test")) as other:
        outcome = send(f"https://receiver.test:{other.port}/ok", ssl_context=trusting)
        assert (outcome.delivered, outcome.status) == (False, None)
        assert outcome.error.startswith("TLS certificate not accepted for receiver.test:")
        assert "Hostname mismatch" in outcome.error
        assert other.requests == []


def test_the_certificate_is_checked_for_the_name_not_the_address(
    receiver: Receiver, trusting: ssl.SSLContext
) -> None:
    """The same receiver by its IP address: its certificate names receiver.test only."""
    outcome = send(f"https://127.0.0.1:{receiver.port}/ok", ssl_context=trusting)
    assert outcome.delivered is False
    assert "IP address mismatch" in outcome.error


def test_by_default_only_the_systems_trusted_cas_are_accepted(receiver: Receiver) -> None:
    outcome = send(f"https://receiver.test:{receiver.port}/ok")
    assert outcome.delivered is False
    assert outcome.error.startswith("TLS certificate not accepted for receiver.test:")
    assert receiver.requests == []


def test_a_handshake_that_never_comes_is_given_up_after_the_timeout(
    trusting: ssl.SSLContext,
) -> None:
    """A port that accepts connections (the kernel's backlog) but never speaks TLS."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        outcome = send(f"https://receiver.test:{port}/ok", timeout=0.5, ssl_context=trusting)
    assert (outcome.delivered, outcome.error) == (False, "timed out after 0.5 s")
    assert 0.45 <= outcome.seconds < 1.0
