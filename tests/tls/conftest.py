"""The TLS tier: the production variant with HTTPS (docker-compose.tls.yml, acme mode),
its certificates from pebble, a real ACME CA (tests/tls/docker-compose.pebble.yml), on the
stack's own acme network. Clients reach the proxy on 127.0.0.1 only, asking for the
name PUBLIC_HOST by SNI and Host header, as curl's --resolve does.

pebble issues certificates valid for VALIDITY_SECONDS, so the keeper's own schedule (2/3 of
the life) renews them within a test, and the keeper retries a failure after
RETRY_SECONDS (doubled each time): short enough to watch both happen.
"""

import secrets
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from tests.e2e.stack import REPO, Stack, make_secrets
from tests.tls.authority import Authority, write_pebble_files

HOST = "short.test"
VALIDITY_SECONDS = 120
RETRY_SECONDS = 4
TLS_FILES = [
    REPO / "docker-compose.yml",
    REPO / "docker-compose.prod.yml",
    REPO / "docker-compose.tls.yml",
    REPO / "tests" / "tls" / "docker-compose.pebble.yml",
]


class TlsStack(Stack):
    pebble_dir: Path
    pebble_https_root: Path

    @property
    def env(self) -> dict[str, str]:
        env = {
            **super().env,
            "COMPOSE_PROFILES": "acme",
            "TLS_MODE": "acme",
            "PUBLIC_HOST": HOST,
            "PROXY_HTTP_PORT": "",
            "PROXY_HTTPS_PORT": "",
            "PEBBLE_DIR": str(self.pebble_dir),
            "ACME_DIRECTORY_URL": "https://pebble:14000/dir",
            "ACME_CA_ROOT_FILE": str(self.pebble_https_root),
            "ACME_RETRY_SECONDS": str(RETRY_SECONDS),
        }
        del env["PUBLIC_BASE_URL"]  # https://PUBLIC_HOST, from docker-compose.tls.yml
        return env

    def port(self, service: str, port: int) -> int:
        address = self.compose("port", service, str(port)).strip().splitlines()[-1]
        host, _, number = address.rpartition(":")
        assert host == "127.0.0.1", f"{service} must publish on loopback only, got {address}"
        return int(number)

    @property
    def base_url(self) -> str:  # plain HTTP: port 8080 (80 on a host)
        return f"http://127.0.0.1:{self.port('proxy', 8080)}"

    @property
    def https_port(self) -> int:  # 443 on a host
        return self.port("proxy", 8443)

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsStack]:
    authority = Authority.create("TLS tier: pebble's HTTPS")
    stack = TlsStack(
        make_secrets(tmp_path_factory.mktemp("tls-secrets")),
        files=TLS_FILES,
        name=f"shortener-tls-{secrets.token_hex(3)}",
    )
    stack.pebble_dir = write_pebble_files(
        tmp_path_factory.mktemp("pebble"), authority, VALIDITY_SECONDS
    )
    stack.pebble_https_root = stack.pebble_dir / "https-root.pem"
    stack.pebble_https_root.write_bytes(authority.pem)
    stack.pebble_https_root.chmod(0o644)
    with stack.running():
        yield stack


@pytest.fixture(scope="session")
def pebble_roots(tls: TlsStack) -> Path:
    """The root pebble signs with (made when it started), from its management port."""
    with httpx.Client(verify=trusting(tls.pebble_https_root)) as client:
        answer = client.get(
            f"https://127.0.0.1:{tls.port('pebble', 15000)}/roots/0",
            extensions={"sni_hostname": "pebble"},
        )
    answer.raise_for_status()
    path = tls.pebble_dir.parent / "pebble-roots.pem"
    path.write_text(answer.text)
    return path


def trusting(roots: Path) -> ssl.SSLContext:
    """What a client that trusts `roots` (and nothing else) accepts."""
    return ssl.create_default_context(cafile=roots)


def served_certificate(port: int, context: ssl.SSLContext | None = None) -> x509.Certificate:
    """The certificate presented for HOST on 127.0.0.1:port now (verified by `context` if
    given)."""
    if context is None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=HOST) as tls_socket,
    ):
        der = tls_socket.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def wait_for_certificate(stack: TlsStack, timeout: float = 60) -> x509.Certificate:
    """The first certificate served (the proxy refuses handshakes until it has one)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return served_certificate(stack.https_port)
        except (ssl.SSLError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def https_client(stack: TlsStack, roots: Path, api_key: str | None = None) -> httpx.Client:
    """A client of https://HOST/ that reaches 127.0.0.1 and trusts only `roots`; each
    request names HOST (SNI and Host), see sni()."""
    headers = {"Host": HOST}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return httpx.Client(
        base_url=stack.https_url, verify=trusting(roots), headers=headers, timeout=10
    )


SNI = {"sni_hostname": HOST}  # httpx: the TLS name asked for and verified, per request


def proxy_master_pid(stack: TlsStack) -> str:
    return stack.exec("proxy", "cat", "/tmp/nginx.pid").strip()


def keeper_metric(stack: TlsStack, name: str) -> float:
    """One sample of the keeper's metrics, read inside its container (acme network only)."""
    text = stack.exec(
        "certs",
        "python",
        "-c",
        "import urllib.request; print(urllib.request.urlopen("
        "'http://127.0.0.1:9102/metrics').read().decode())",
    )
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the keeper's metrics:\n{text}")


def proxy_image(stack: TlsStack) -> str:
    return stack.inspect(stack.container("proxy"))["Config"]["Image"]
