"""Standard Webhooks signatures: the reference vector, round trips, and every refusal."""

import base64

import pytest

from shortener_worker.webhooks.signing import VerificationFailed, new_secret, sign, verify

# The reference library's own vector: standard-webhooks/standard-webhooks,
# libraries/python/tests/test_webhooks.py, test_sign_function (commit b2fa7b8).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

NOW = 1_700_000_000
BODY = b'{"type":"link.clicked","data":{"code":"abc123"}}'


def test_the_reference_vector_is_signed_byte_for_byte() -> None:
    headers = sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
    assert headers == {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": VECTOR_SIGNATURE,
    }


def test_the_reference_vector_verifies_at_its_time() -> None:
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)
    # The reference library takes the secret without its prefix too.
    verify(VECTOR_SECRET.removeprefix("whsec_"), headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    secrets = {new_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def test_what_is_signed_verifies_with_the_same_secret() -> None:
    secret = new_secret()
    headers = sign(secret, "msg_1", NOW, BODY)
    verify(secret, headers, BODY, now=NOW + 299)


def test_header_names_are_matched_whatever_their_case() -> None:
    secret = new_secret()
    headers = {name.title(): value for name, value in sign(secret, "msg_1", NOW, BODY).items()}
    assert "Webhook-Signature" in headers
    verify(secret, headers, BODY, now=NOW)


def test_another_secret_fails() -> None:
    headers = sign(new_secret(), "msg_1", NOW, BODY)
    with pytest.raises(VerificationFailed, match="no signature matches"):
        verify(new_secret(), headers, BODY, now=NOW)


@pytest.mark.parametrize(
    "tampered",
    [
        BODY.replace(b"abc123", b"abc124"),
        BODY + b" ",  # JSON that means the same, but is not the same bytes
        b"",
    ],
)
def test_a_changed_body_fails(tampered: bytes) -> None:
    secret = new_secret()
    headers = sign(secret, "msg_1", NOW, BODY)
    with pytest.raises(VerificationFailed, match="no signature matches"):
        verify(secret, headers, tampered, now=NOW)


@pytest.mark.parametrize(
    ("header", "value"), [("webhook-id", "msg_2"), ("webhook-timestamp", str(NOW + 1))]
)
def test_a_changed_id_or_timestamp_fails(header: str, value: str) -> None:
    secret = new_secret()
    headers = sign(secret, "msg_1", NOW, BODY) | {header: value}
    with pytest.raises(VerificationFailed, match="no signature matches"):
        verify(secret, headers, BODY, now=NOW)


@pytest.mark.parametrize(
    ("now", "message"),
    [(NOW + 301, "too old"), (NOW + 86400, "too old"), (NOW - 301, "too new")],
)
def test_a_timestamp_outside_the_tolerance_fails(now: int, message: str) -> None:
    secret = new_secret()
    headers = sign(secret, "msg_1", NOW, BODY)
    with pytest.raises(VerificationFailed, match=message):
        verify(secret, headers, BODY, now=now)
    verify(secret, headers, BODY, now=now, tolerance_seconds=100_000)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_named(missing: str) -> None:
    secret = new_secret()
    headers = sign(secret, "msg_1", NOW, BODY)
    del headers[missing]
    with pytest.raises(VerificationFailed, match=f"missing header {missing}"):
        verify(secret, headers, BODY, now=NOW)


@pytest.mark.parametrize("timestamp", ["hello", "1.5", "-1", "+1700000000", "1_700_000_000"])
def test_a_timestamp_that_is_not_whole_seconds_fails(timestamp: str) -> None:
    secret = new_secret()
    headers = sign(secret, "msg_1", NOW, BODY) | {"webhook-timestamp": timestamp}
    with pytest.raises(VerificationFailed, match="not whole Unix seconds"):
        verify(secret, headers, BODY, now=NOW)


def test_one_matching_signature_among_several_is_enough() -> None:
    """Secret rotation: the sender signs with the old and the new secret."""
    old, new = new_secret(), new_secret()
    signature_old = sign(old, "msg_1", NOW, BODY)["webhook-signature"]
    headers = sign(new, "msg_1", NOW, BODY)
    headers["webhook-signature"] = " ".join(
        [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",  # someone else's
            "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==",
            "malformed",
            "v1,not base64!",
            headers["webhook-signature"],
        ]
    )
    verify(new, headers, BODY, now=NOW)
    with pytest.raises(VerificationFailed):
        verify(old, headers, BODY, now=NOW)
    headers["webhook-signature"] += f" {signature_old}"
    verify(old, headers, BODY, now=NOW)


def test_a_signature_of_another_version_is_not_taken_for_v1() -> None:
    secret = new_secret()
    headers = sign(secret, "msg_1", NOW, BODY)
    headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v2,")
    with pytest.raises(VerificationFailed):
        verify(secret, headers, BODY, now=NOW)


@pytest.mark.parametrize("message_id", ["", "msg.1", "msg 1", "msg\r\nX-Injected: 1", "msg_é"])
def test_sign_refuses_an_id_that_would_shift_or_break_the_headers(message_id: str) -> None:
    with pytest.raises(ValueError, match="message id"):
        sign(new_secret(), message_id, NOW, BODY)


@pytest.mark.parametrize("timestamp", [1.5, True, -1, "1700000000"])
def test_sign_refuses_a_timestamp_that_is_not_whole_seconds(timestamp: object) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        sign(new_secret(), "msg_1", timestamp, BODY)  # type: ignore[arg-type]


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="webhook secret is empty"):
        sign("whsec_", "msg_1", NOW, BODY)


@pytest.mark.parametrize("secret", ["whsec_c2VjcmV0-truncated?", "c2VjcmV0 c2VjcmV0"])
def test_a_malformed_secret_is_refused_without_being_quoted(secret: str) -> None:
    with pytest.raises(ValueError, match="not whsec_ followed by base64") as refused:
        verify(secret, sign(new_secret(), "msg_1", NOW, BODY), BODY, now=NOW)
    assert "c2VjcmV0" not in str(refused.value)
