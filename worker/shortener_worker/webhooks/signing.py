"""Webhook signatures, the Standard Webhooks way (symmetric scheme, "v1").

Spec: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
("Signature scheme", "Webhook headers", "Verifying signatures"). In short:

- the secret is `whsec_` + base64(key), the key 24 to 64 random bytes, one per endpoint;
- the signed content is `{webhook-id}.{webhook-timestamp}.{body}`, the body's exact bytes;
- `webhook-signature` is `v1,` + base64(HMAC-SHA256(key, content)); several signatures,
  space-separated, are sent while a secret is rotated, and one match is enough;
- `webhook-timestamp` is integer Unix seconds, checked against the receiver's clock so an
  old request cannot be replayed.

`verify` is the receiver's side: what our documentation shows customers and what our tests'
receiver runs. It follows the reference library (libraries/python in the same repository),
which accepts a secret with or without its prefix and unpadded base64.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix the spec gives every secret, not one)
SECRET_BYTES = 32  # the spec allows 24 to 64
SIGNATURE_VERSION = "v1"  # HMAC-SHA256; "v1a" (ed25519) signatures are skipped by verify
DEFAULT_TOLERANCE_SECONDS = 300  # the reference libraries' five minutes


class VerificationFailed(ValueError):
    """The request is not a webhook signed with this secret; the message says which check
    failed. It never contains the secret."""


def new_secret() -> str:
    """A fresh signing secret, as shown to the customer: `whsec_` + base64 of 32 bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers that sign `body`, sent with message `message_id` at `timestamp`.

    The message id stays the same across retries (the receiver's idempotency key); the
    timestamp is the attempt's, so each retry is signed anew.
    """
    # The spec: the id must not contain a "." (it would shift the signed content's fields);
    # nor anything that cannot travel in a header.
    if not message_id or not message_id.isascii() or not message_id.isprintable():
        raise ValueError("the message id must be printable ASCII, and not empty")
    if "." in message_id or " " in message_id:
        raise ValueError("the message id must not contain '.' or spaces")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError("the timestamp must be whole Unix seconds")
    signature = _signature(secret, message_id, timestamp, body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"{SIGNATURE_VERSION},{signature}",
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Return if `body` and `headers` were signed with `secret` within `tolerance_seconds`
    of `now` (Unix seconds); raise VerificationFailed otherwise.

    `body` must be the raw bytes received: JSON parsed and serialised again is not the
    same text, and its signature does not match.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        if not lowered.get(name):
            raise VerificationFailed(f"missing header {name}")
    message_id = lowered["webhook-id"]
    timestamp_text = lowered["webhook-timestamp"].strip()
    if not (timestamp_text.isascii() and timestamp_text.isdigit() and len(timestamp_text) < 20):
        raise VerificationFailed("webhook-timestamp is not whole Unix seconds")
    timestamp = int(timestamp_text)

    expected = base64.b64decode(_signature(secret, message_id, timestamp, body))
    # Every candidate is compared, in constant time, so the time taken does not tell an
    # attacker how much of a forged signature was right.
    matched = False
    for candidate in lowered["webhook-signature"].split():
        version, _, encoded = candidate.partition(",")
        if version != SIGNATURE_VERSION:
            continue
        try:
            received = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        matched |= hmac.compare_digest(expected, received)
    if not matched:
        raise VerificationFailed("no signature matches (wrong secret, or the body was changed)")
    # Checked after the signature, so "too old" is only ever said of a genuine request: a
    # clock out of step, or a replay, not a forgery.
    if timestamp < now - tolerance_seconds:
        raise VerificationFailed("webhook-timestamp is too old (a replay, or clocks apart)")
    if timestamp > now + tolerance_seconds:
        raise VerificationFailed("webhook-timestamp is too new (clocks apart)")


def _signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _key(secret: str) -> bytes:
    """The key bytes of a `whsec_` secret (the prefix and padding are optional, as in the
    reference library); ValueError, without the secret in it, if it is not one."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the webhook secret is not whsec_ followed by base64") from None
    if not key:
        raise ValueError("the webhook secret is empty")
    return key
