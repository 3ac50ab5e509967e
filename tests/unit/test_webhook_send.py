"""One delivery over plain HTTP, against a real receiver on 127.0.0.1 (webhook_receiver.py).

127.0.0.1 is a blocked address: the tests allow 127.0.0.0/8 explicitly, as an operator
would allow the test receiver's network, except where the refusal itself is the test.
"""

import ipaddress
import socket
from collections.abc import Iterator

import pytest

from shortener_worker.webhooks.send import USER_AGENT, Outcome, deliver
from shortener_worker.webhooks.signing import new_secret, sign, verify
from tests.unit.webhook_receiver import FAILURE_TEXT, Receiver, running

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]
SECRET = new_secret()
NOW = 1_700_000_000
BODY = b'{"type":"link.created","data":{"code":"abc123"}}'
SIGNED = sign(SECRET, "msg_1", NOW, BODY)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running(Receiver()) as server:
        yield server


def send(url: str, **options: object) -> Outcome:
    settings: dict = {"timeout": 2.0, "allowed_networks": LOOPBACK, "own_hosts": ()}
    settings.update(options)
    return deliver(url, BODY, SIGNED, **settings)


def answering(*answers: list[str]):
    """A stand-in for DNS: the n-th question gets the n-th answer (the last one after)."""

    def resolve(host: str, port: int) -> list[str]:
        resolve.questions.append(host)  # type: ignore[attr-defined]
        return answers[min(len(resolve.questions), len(answers)) - 1]  # type: ignore[attr-defined]

    resolve.questions = []  # type: ignore[attr-defined]
    return resolve


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---- answered


def test_a_2xx_is_delivered_with_the_exact_body_and_signed_headers(receiver: Receiver) -> None:
    outcome = send(f"http://127.0.0.1:{receiver.port}/ok?account=7")

    assert outcome == Outcome(True, 200, "", outcome.seconds)
    assert 0 < outcome.seconds < 1
    [request] = receiver.requests
    assert (request.method, request.path, request.body) == ("POST", "/ok?account=7", BODY)
    assert {name: request.headers[name] for name in SIGNED} == SIGNED
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["content-type"] == "application/json"
    assert request.headers["content-length"] == str(len(BODY))
    verify(SECRET, request.headers, request.body, now=NOW)  # what a customer's receiver does


def test_any_2xx_is_delivered_and_a_given_content_type_is_kept(receiver: Receiver) -> None:
    headers = SIGNED | {"Content-Type": "application/cloudevents+json"}
    outcome = deliver(
        f"http://127.0.0.1:{receiver.port}/accepted",
        BODY,
        headers,
        timeout=2,
        allowed_networks=LOOPBACK,
        own_hosts=(),
    )
    assert (outcome.delivered, outcome.status) == (True, 202)
    assert receiver.requests[0].headers["content-type"] == "application/cloudevents+json"


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/fail", 500, "HTTP 500 Internal Server Error: database is down retry later"),
        ("/missing", 404, "HTTP 404 Not Found: no such hook"),
        ("/gone", 410, "HTTP 410 Gone"),
    ],
)
def test_any_other_status_is_not_delivered_and_says_what_came_back(
    receiver: Receiver, path: str, status: int, error: str
) -> None:
    outcome = send(f"http://127.0.0.1:{receiver.port}{path}")
    assert (outcome.delivered, outcome.status, outcome.error) == (False, status, error)
    assert "\n" in FAILURE_TEXT and "\n" not in outcome.error  # one line for the log


def test_only_the_start_of_a_long_answer_is_read(receiver: Receiver) -> None:
    outcome = send(f"http://127.0.0.1:{receiver.port}/long-failure")
    assert (outcome.delivered, outcome.status) == (False, 500)
    assert outcome.error.startswith("HTTP 500 Internal Server Error: xxxx")
    assert len(outcome.error) < 260
    assert outcome.seconds < 1


def test_a_redirect_is_not_followed_and_names_its_location(receiver: Receiver) -> None:
    outcome = send(f"http://127.0.0.1:{receiver.port}/redirect")
    assert (outcome.delivered, outcome.status) == (False, 302)
    assert outcome.error == (
        "HTTP 302: redirects are not followed (to /target); update the webhook URL"
    )
    assert [request.path for request in receiver.requests] == ["/redirect"]


# ---- not answered


def test_a_receiver_that_hangs_is_given_up_after_the_timeout(receiver: Receiver) -> None:
    outcome = send(f"http://127.0.0.1:{receiver.port}/hang", timeout=0.5)
    assert (outcome.delivered, outcome.status) == (False, None)
    assert outcome.error == "timed out after 0.5 s"
    assert 0.45 <= outcome.seconds < 1.0


@pytest.mark.parametrize("path", ["/drip", "/drip-body"])
def test_the_timeout_bounds_the_whole_answer_not_each_read(receiver: Receiver, path: str) -> None:
    """A byte every 0.1 s, in the headers or in the body of a failure, would keep a
    per-read socket timeout of 0.5 s waiting for ever."""
    outcome = send(f"http://127.0.0.1:{receiver.port}{path}", timeout=0.5)
    assert (outcome.delivered, outcome.status) == (False, None)
    assert outcome.error == "timed out after 0.5 s"
    assert 0.45 <= outcome.seconds < 1.0


def test_a_refused_connection_is_not_delivered() -> None:
    port = closed_port()
    outcome = send(f"http://127.0.0.1:{port}/ok")
    assert (outcome.delivered, outcome.status) == (False, None)
    assert outcome.error == f"connection refused by 127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/hang-up", "the receiver closed the connection without answering"),
        ("/not-http", "not a valid HTTP answer (BadStatusLine)"),
    ],
)
def test_an_answer_that_is_not_http_is_not_delivered(
    receiver: Receiver, path: str, error: str
) -> None:
    outcome = send(f"http://127.0.0.1:{receiver.port}{path}")
    assert (outcome.delivered, outcome.status, outcome.error) == (False, None, error)


def test_a_name_that_does_not_resolve_is_not_delivered() -> None:
    def no_such_name(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    outcome = send("https://receiver.test/ok", resolver=no_such_name)
    assert (outcome.delivered, outcome.error) == (
        False,
        "DNS lookup failed: Name or service not known",
    )


# ---- the SSRF guard, in place


def test_a_blocked_address_is_refused_before_any_connection(receiver: Receiver) -> None:
    outcome = send(f"http://127.0.0.1:{receiver.port}/ok", allowed_networks=[])
    assert (outcome.delivered, outcome.status) == (False, None)
    assert outcome.error == "refused: 127.0.0.1 is a loopback address"
    assert receiver.connections == 0


def test_a_name_resolving_to_a_blocked_address_is_refused_before_any_connection(
    receiver: Receiver,
) -> None:
    resolver = answering(["93.184.215.14", "127.0.0.1"])
    outcome = send(
        f"http://receiver.test:{receiver.port}/ok", allowed_networks=[], resolver=resolver
    )
    assert outcome.error == (
        "refused: receiver.test resolves to 127.0.0.1, which is a loopback address"
    )
    assert receiver.connections == 0


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://receiver.test/", "refused: the URL must be http or https"),
        ("http://localhost/ok", "refused: localhost is a local name"),
        ("https://sho.rt/hook", "refused: the URL must not point at this shortener"),
    ],
)
def test_a_refused_url_is_an_outcome_not_an_exception(url: str, error: str) -> None:
    outcome = send(url, own_hosts=["sho.rt"])
    assert (outcome.delivered, outcome.error) == (False, error)


def test_the_connection_goes_to_the_checked_address_under_the_urls_name(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name's second answer (the metadata address) is never asked for,
    and no lookup happens outside the resolver given: the socket opens to the address
    checked, while the request still names receiver.test."""

    def no_lookup(*args: object, **kwargs: object) -> None:
        raise AssertionError("a second DNS lookup")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    resolver = answering(["127.0.0.1"], ["169.254.169.254"])

    outcome = send(f"http://receiver.test:{receiver.port}/ok", resolver=resolver)

    assert (outcome.delivered, outcome.status) == (True, 200)
    assert resolver.questions == ["receiver.test"]  # type: ignore[attr-defined]
    assert receiver.requests[0].headers["host"] == f"receiver.test:{receiver.port}"


def test_a_rebinding_answer_after_the_check_never_reaches_the_internal_address(
    receiver: Receiver,
) -> None:
    """The check passes on 127.0.0.2 (allowed here, standing for a public address where
    nothing listens); the name then rebinds to 127.0.0.1, where the receiver stands for
    an internal service. The attempt fails at 127.0.0.2; 127.0.0.1 is never contacted."""
    resolver = answering(["127.0.0.2"], ["127.0.0.1"])
    outcome = send(
        f"http://receiver.test:{receiver.port}/ok",
        allowed_networks=[ipaddress.ip_network("127.0.0.2/32")],
        resolver=resolver,
    )
    assert (outcome.delivered, outcome.error) == (
        False,
        f"connection refused by receiver.test:{receiver.port}",
    )
    assert resolver.questions == ["receiver.test"]  # type: ignore[attr-defined]
    assert receiver.connections == 0


def test_the_next_address_is_tried_when_one_refuses(receiver: Receiver) -> None:
    resolver = answering(["127.0.0.2", "127.0.0.1"])
    outcome = send(f"http://receiver.test:{receiver.port}/ok", resolver=resolver)
    assert (outcome.delivered, outcome.status) == (True, 200)


@pytest.mark.parametrize("header", ["Host", "user-agent", "Content-Length", "connection"])
def test_a_caller_cannot_set_the_headers_deliver_owns(header: str) -> None:
    with pytest.raises(ValueError, match="deliver sets these headers itself"):
        deliver(
            "https://receiver.test/",
            BODY,
            SIGNED | {header: "x"},
            timeout=1,
            allowed_networks=[],
            own_hosts=(),
        )
