"""The certificate being served, read from its PEM file, and when to renew it.

Renewal at 2/3 of the certificate's life, as Let's Encrypt advises for its clients (a
90-day certificate: after 60 days; a 6-day one: after 4), moved earlier by up to 1/15 of
the life so that many hosts issued at once do not renew at once. The jitter is drawn from
the serial number: the same certificate always gets the same time, whichever process
asks (the keeper's loop, `status`) and however often it restarts.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

RENEW_AT = 2 / 3
JITTER = 1 / 15


@dataclass(frozen=True)
class Certificate:
    names: tuple[str, ...]
    issuer: str
    serial: int
    not_before: datetime
    not_after: datetime

    @property
    def lifetime(self) -> timedelta:
        return self.not_after - self.not_before

    def renewal_time(self) -> datetime:
        earlier = random.Random(self.serial).uniform(0, JITTER)
        return self.not_before + self.lifetime * (RENEW_AT - earlier)

    def covers(self, host: str) -> bool:
        return host in self.names


def read_certificate(path: Path) -> Certificate | None:
    """The first certificate of a PEM chain file; None when there is no file yet."""
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        return None
    leaf = x509.load_pem_x509_certificate(pem)
    try:
        names = tuple(
            leaf.extensions.get_extension_for_oid(
                ExtensionOID.SUBJECT_ALTERNATIVE_NAME
            ).value.get_values_for_type(x509.DNSName)
        )
    except x509.ExtensionNotFound:
        names = ()
    issuer = leaf.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return Certificate(
        names=names,
        issuer=str(issuer[0].value) if issuer else leaf.issuer.rfc4514_string(),
        serial=leaf.serial_number,
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
    )
