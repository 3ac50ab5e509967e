"""TLS_MODE=files, and the proxy's refusal of a bad TLS setting (docs/tls.md).

The proxy image of the tier's stack, run alone with `docker run`: the certificate and key
mounted where compose mounts the secrets, `api` pointed at the loopback so that nginx's
upstream resolves (nothing is proxied here), HTTPS published on 127.0.0.1.
"""

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from tests.e2e.stack import run
from tests.tls.authority import Authority
from tests.tls.conftest import HOST, TlsStack, proxy_image, served_certificate, trusting

pytestmark = pytest.mark.e2e


def proxy_run(image: str, mounts: dict[str, Path], env: dict[str, str], *extra: str) -> list[str]:
    command = ["docker", "run", "--add-host", "api:127.0.0.1"]
    for name, source in mounts.items():
        command += ["-v", f"{source}:/run/secrets/{name}:ro"]
    for name, value in env.items():
        command += ["-e", f"{name}={value}"]
    return [*command, *extra, image]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Authority, Path, Path]:
    folder = tmp_path_factory.mktemp("files-mode")
    folder.chmod(0o755)
    authority = Authority.create("TLS tier: files mode")
    certificate, key = authority.issue(HOST)
    (folder / "tls_certificate").write_bytes(certificate)
    (folder / "tls_private_key").write_bytes(key)
    (folder / "ca.pem").write_bytes(authority.pem)
    for path in folder.iterdir():
        path.chmod(0o644)  # as scripts/secrets.sh makes secrets: in a private folder
    return authority, folder / "tls_certificate", folder / "tls_private_key"


@pytest.fixture
def files_proxy(tls: TlsStack, pair: tuple[Authority, Path, Path]) -> Iterator[str]:
    """The proxy in files mode with the test's pair, standing in for the stack's."""
    _, certificate, key = pair
    name = f"{tls.name}-files-{secrets.token_hex(2)}"
    env = {"TLS_MODE": "files", "PUBLIC_HOST": HOST}
    mounts = {"tls_certificate": certificate, "tls_private_key": key}
    run(proxy_run(proxy_image(tls), mounts, env, "-d", "--name", name, "-p", "127.0.0.1::8443"))
    try:
        yield name
    finally:
        run(["docker", "rm", "--force", name], check=False)


def test_files_mode_serves_the_given_certificate(
    files_proxy: str, pair: tuple[Authority, Path, Path]
) -> None:
    _, certificate, _ = pair
    port = int(run(["docker", "port", files_proxy, "8443"]).stdout.split(":")[-1])
    deadline = time.monotonic() + 20
    while True:
        try:  # verified against the test's own CA only, for HOST
            served = served_certificate(port, trusting(certificate.parent / "ca.pem"))
            break
        except OSError:
            assert time.monotonic() < deadline, run(["docker", "logs", files_proxy]).stderr
            time.sleep(0.5)
    assert served.public_bytes(Encoding.PEM) == certificate.read_bytes()
    logs = run(["docker", "logs", files_proxy]).stderr
    assert "TLS_MODE=files: serving HTTPS for short.test" in logs


def refusal(tls: TlsStack, mounts: dict[str, Path], env: dict[str, str]) -> str:
    """The proxy's exit message for a setting it must refuse (it must not start)."""
    finished = run(proxy_run(proxy_image(tls), mounts, env, "--rm"), check=False, timeout=60)
    assert finished.returncode == 1, (finished.returncode, finished.stderr)
    return finished.stderr


def test_a_mismatched_key_stops_startup_naming_the_secrets(
    tls: TlsStack, pair: tuple[Authority, Path, Path], tmp_path: Path
) -> None:
    _, certificate, _ = pair
    _, other_key = Authority.create("another").issue(HOST)
    wrong = tmp_path / "other_key"
    wrong.write_bytes(other_key)
    wrong.chmod(0o644)
    tmp_path.chmod(0o755)
    message = refusal(
        tls,
        {"tls_certificate": certificate, "tls_private_key": wrong},
        {"TLS_MODE": "files", "PUBLIC_HOST": HOST},
    )
    assert "the secrets tls_certificate and tls_private_key do not load" in message, message
    assert "key values mismatch" in message, message


def test_a_missing_key_stops_startup_naming_the_secret(
    tls: TlsStack, pair: tuple[Authority, Path, Path]
) -> None:
    _, certificate, _ = pair
    message = refusal(
        tls, {"tls_certificate": certificate}, {"TLS_MODE": "files", "PUBLIC_HOST": HOST}
    )
    assert "the secret tls_private_key (/run/secrets/tls_private_key) is missing" in message


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TLS_MODE": "https"}, "TLS_MODE=https: must be acme, files or off"),
        ({"TLS_MODE": "acme"}, "TLS_MODE=acme needs PUBLIC_HOST"),
        ({"TLS_MODE": "acme", "PUBLIC_HOST": "https://short.test"}, "PUBLIC_HOST=https://"),
        ({"TLS_MODE": "acme", "PUBLIC_HOST": HOST, "HSTS_MAX_AGE": "1y"}, "HSTS_MAX_AGE=1y"),
    ],
)
def test_a_bad_tls_setting_stops_the_proxy_naming_it(
    tls: TlsStack, env: dict[str, str], named: str
) -> None:
    assert named in refusal(tls, {}, env)
