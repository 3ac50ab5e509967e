"""One delivery attempt: POST a signed body to a webhook URL, and what came of it.

In order: the URL is checked again (the rules may have changed since it was stored); its
host is resolved once and every address checked (addresses.py); the request goes to a
checked address (connection.py); the answer is judged as the Standard Webhooks spec says:
2xx is delivered, anything else is not. Redirects are not followed, a 3xx is a failure
that names where it pointed (the customer should update the URL), and only the first
few KiB of an answer are read, for the error message.

Nothing here raises for a receiver's behaviour: every failure is an `Outcome` with a short
error meant for the customer's delivery log. It cannot contain the signing secret: the
secret never reaches this module, only the headers signed with it.
"""

import functools
import http.client
import ssl
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from shortener_worker.webhooks.addresses import (
    AddressRefused,
    Resolver,
    Target,
    check_url,
    resolve_allowed,
    system_resolver,
)
from shortener_worker.webhooks.blocked import IPAddress, IPNetwork
from shortener_worker.webhooks.connection import (
    Cutoff,
    Deadline,
    PinnedHTTPConnection,
    PinnedHTTPSConnection,
)

USER_AGENT = "shortener-webhooks/1 (URL shortener; Standard Webhooks)"
MAX_RESPONSE_READ = 4096  # bytes of a failed answer read, for its error message
MAX_EXCERPT = 200  # characters of that answer quoted in the error
# Headers deliver decides, so a caller cannot send a Host that differs from the checked URL.
_OWN_HEADERS = frozenset(
    {"host", "user-agent", "content-length", "transfer-encoding", "connection"}
)


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    delivered: bool  # the receiver answered 2xx
    status: int | None  # its HTTP status; None if there was no answer
    error: str  # why it was not delivered, for the customer; "" if delivered
    seconds: float  # from the start of the attempt to its end, DNS included


def deliver(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    allowed_networks: Sequence[IPNetwork],
    own_hosts: Collection[str],
    resolver: Resolver = system_resolver,
    ssl_context: ssl.SSLContext | None = None,
) -> Outcome:
    """POST `body` with `headers` (the signature's, and Content-Type if not JSON) to `url`.

    `timeout` bounds the exchange from connecting to the last byte read; the DNS lookup
    before it is bounded by the job's timeout only. `allowed_networks` and `own_hosts` are
    the address policy (addresses.py). `ssl_context` defaults to the system's trusted CAs
    with certificate and host name verification.
    """
    started = time.monotonic()

    def failed(error: str, status: int | None = None) -> Outcome:
        return Outcome(False, status, error, time.monotonic() - started)

    request_headers = _request_headers(headers)  # a caller's mistake raises, before sending
    try:
        target = check_url(url, own_hosts=own_hosts, allowed_networks=allowed_networks)
        addresses = resolve_allowed(
            target.host, target.port, allowed_networks=allowed_networks, resolver=resolver
        )
    except AddressRefused as refused:
        return failed(f"refused: {refused}")
    except OSError as error:  # socket.gaierror: no such name, or no DNS answer
        return failed(f"DNS lookup failed: {error.strerror or error}")

    deadline = Deadline(timeout)
    connection = _connection(target, addresses, deadline, ssl_context)
    cutoff = Cutoff(connection, deadline)
    response: http.client.HTTPResponse | None = None
    try:
        connection.request(
            "POST", target.path, body=body, headers={"Host": target.host_header, **request_headers}
        )
        response = connection.getresponse()
        status = response.status
        delivered = 200 <= status < 300
        location = response.getheader("Location", "")
        answer = b"" if delivered else response.read(MAX_RESPONSE_READ)
    except (OSError, http.client.HTTPException) as error:
        return failed(_network_error(error, target, deadline, cutoff.fired))
    finally:
        cutoff.stop()
        if response is not None:
            response.close()  # it may hold the socket: http.client hands it over on "close"
        connection.close()
    if cutoff.fired:
        # Cut at the deadline, the answer may have been read only in part: http.client
        # takes an end of stream inside the headers as their end, so a 200 status line
        # followed by a trickle of header bytes would otherwise count as delivered.
        return failed(_timed_out(deadline))
    if delivered:
        return Outcome(True, status, "", time.monotonic() - started)
    return failed(_answer_error(status, response.reason, location, answer), status)


def _request_headers(headers: Mapping[str, str]) -> dict[str, str]:
    clashes = sorted(name for name in headers if name.lower() in _OWN_HEADERS)
    if clashes:
        raise ValueError(f"deliver sets these headers itself: {', '.join(clashes)}")
    defaults = {"User-Agent": USER_AGENT, "Connection": "close"}
    if not any(name.lower() == "content-type" for name in headers):
        defaults["Content-Type"] = "application/json"
    return {**defaults, **headers}


def _connection(
    target: Target,
    addresses: Sequence[IPAddress],
    deadline: Deadline,
    ssl_context: ssl.SSLContext | None,
) -> PinnedHTTPConnection | PinnedHTTPSConnection:
    if target.scheme == "https":
        return PinnedHTTPSConnection(target, addresses, deadline, ssl_context or _system_tls())
    return PinnedHTTPConnection(target, addresses, deadline)


@functools.cache
def _system_tls() -> ssl.SSLContext:
    """The system's CAs, verification on: read once per process, shared by all sends."""
    return ssl.create_default_context()


def _answer_error(status: int, reason: str, location: str, answer: bytes) -> str:
    """What a receiver's non-2xx answer says, on one short line."""
    if 300 <= status < 400:
        return (
            f"HTTP {status}: redirects are not followed (to {_printable(location)});"
            " update the webhook URL"
        )
    excerpt = _printable(answer.decode("utf-8", "replace"))
    return f"HTTP {status} {_printable(reason, limit=60)}" + (f": {excerpt}" if excerpt else "")


def _network_error(
    error: OSError | http.client.HTTPException, target: Target, deadline: Deadline, cut: bool
) -> str:
    """A short, human description of why there was no answer (most specific class first)."""
    if cut or isinstance(error, TimeoutError):
        return _timed_out(deadline)
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted for {target.host}: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS failed: {error.reason or error}"
    if isinstance(error, ConnectionRefusedError):
        return f"connection refused by {target.host_header}"
    if isinstance(error, http.client.RemoteDisconnected):
        return "the receiver closed the connection without answering"
    if isinstance(error, http.client.HTTPException):
        return f"not a valid HTTP answer ({type(error).__name__})"
    return f"network error: {error.strerror or error}"


def _timed_out(deadline: Deadline) -> str:
    return f"timed out after {deadline.seconds:g} s"


def _printable(text: str, limit: int = MAX_EXCERPT) -> str:
    """The receiver's text made safe for a one-line log: controls and runs of whitespace
    become one space, and it is cut to `limit` characters."""
    flat = " ".join("".join(char if char.isprintable() else " " for char in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
