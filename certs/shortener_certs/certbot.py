"""Obtaining a certificate: certbot, run as a command, answering HTTP-01 challenges by
writing files that nginx serves (webroot), so it needs no port, no privilege and no
access to the proxy beyond a shared volume.

certbot keeps its ACME account and its certificate "lineage" (every certificate it got,
under one name) in <certificates_dir>/certbot; what nginx reads is published apart from
it (publish.py). When to renew is the keeper's decision (certificate.py), so every run
asks for a new certificate (--force-renewal), with a new key.
"""

import logging
import os
import subprocess
from pathlib import Path

from shortener_certs.settings import CertsSettings

log = logging.getLogger(__name__)

LINEAGE = "shortener"  # certbot's --cert-name: one fixed name, whatever the host
# certbot's scratch and logs: the container's private tmpfs, gone with it.
SCRATCH = Path("/tmp/certbot")  # noqa: S108
TIMEOUT_SECONDS = 300
STDERR_LINES = 12  # of certbot's output, kept in the failure's log line


class ObtainFailed(Exception):
    """certbot did not get a certificate; the message is what it said."""


def lineage_dir(settings: CertsSettings) -> Path:
    return settings.certificates_dir / "certbot" / "live" / LINEAGE


def certbot_command(settings: CertsSettings) -> list[str]:
    command = [
        "certbot", "certonly",
        "--non-interactive", "--agree-tos",
        "--server", settings.acme_directory_url,
        "--webroot", "--webroot-path", str(settings.challenges_dir),
        "--preferred-challenges", "http",
        "--cert-name", LINEAGE, "--domains", settings.public_host,
        "--force-renewal",
        "--key-type", "ecdsa", "--elliptic-curve", "secp256r1",
        "--config-dir", str(settings.certificates_dir / "certbot"),
        "--work-dir", str(SCRATCH / "work"),
        "--logs-dir", str(SCRATCH / "logs"), "--max-log-backups", "0",
    ]  # fmt: skip
    if settings.acme_email:
        command += ["--email", settings.acme_email, "--no-eff-email"]
    else:
        command += ["--register-unsafely-without-email"]
    return command


def obtain(settings: CertsSettings) -> Path:
    """Run certbot once; the lineage folder holding the new fullchain.pem and privkey.pem."""
    environment = dict(os.environ)
    if settings.acme_ca_root_file is not None:
        # certbot talks to the CA through requests, which trusts this bundle instead.
        environment["REQUESTS_CA_BUNDLE"] = str(settings.acme_ca_root_file)
    try:
        finished = subprocess.run(  # noqa: S603 (our own arguments, validated settings)
            certbot_command(settings),
            env=environment,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ObtainFailed(f"certbot did not finish within {TIMEOUT_SECONDS} s") from None
    if finished.returncode != 0:
        said = [line for line in finished.stderr.splitlines() if line.strip()]
        summary = " | ".join(said[-STDERR_LINES:])
        raise ObtainFailed(summary or f"certbot exited {finished.returncode}")
    return lineage_dir(settings)
