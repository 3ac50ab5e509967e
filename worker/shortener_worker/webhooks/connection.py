"""The connection to a receiver: to an address that was checked, within a deadline.

Pinned to the checked address. http.client would resolve the host name again when it
connects, and a DNS server under an attacker's control can answer a public address to our
check and 127.0.0.1 to that second lookup (DNS rebinding). So `connect()` here opens the
socket to an address `addresses.resolve_allowed` returned, and never looks a name up;
the URL's host name still goes in the Host header, and for https in the TLS handshake (SNI)
and the certificate check.

Within a deadline. A socket timeout bounds each read, not the exchange: a receiver that
sends one byte of its headers every few seconds would hold the worker for hours. So a
timer cuts the socket (shutdown) when the deadline passes, whatever the connection is doing.
"""

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from contextlib import suppress

from shortener_worker.webhooks.addresses import Target
from shortener_worker.webhooks.blocked import IPAddress


class Deadline:
    """A point in time `seconds` from now that every step of one delivery must meet."""

    def __init__(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("a deadline must be in the future")
        self.seconds = seconds
        self.end = time.monotonic() + seconds  # on the monotonic clock

    def remaining(self) -> float:
        """Seconds left; TimeoutError once none are (0 would make a socket non-blocking)."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"timed out after {self.seconds:g} s")
        return left


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to the first of `addresses` that accepts, for `target`'s host."""

    def __init__(self, target: Target, addresses: Sequence[IPAddress], deadline: Deadline):
        super().__init__(target.host, target.port)
        self._addresses = addresses
        self._deadline = deadline
        # The socket, for Cutoff: http.client lets go of self.sock when an answer says
        # "Connection: close" and hands the socket to the response, whose body is still
        # to be read.
        self.open_socket: socket.socket | None = None

    def connect(self) -> None:
        self.sock = self.open_socket = connect_first(self._addresses, self.port, self._deadline)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: SNI and the certificate's name are the URL's host, not the IP."""

    def __init__(
        self,
        target: Target,
        addresses: Sequence[IPAddress],
        deadline: Deadline,
        tls_context: ssl.SSLContext,
    ):
        super().__init__(target.host, target.port, context=tls_context)
        self._addresses = addresses
        self._deadline = deadline
        self._tls_context = tls_context
        self.open_socket: socket.socket | None = None  # as in PinnedHTTPConnection

    def connect(self) -> None:
        raw = connect_first(self._addresses, self.port, self._deadline)
        # The handshake is done after open_socket is set, so Cutoff can cut a handshake
        # that stalls too. wrap_socket takes the socket over (raw is detached).
        tls = self._tls_context.wrap_socket(
            raw, server_hostname=self.host, do_handshake_on_connect=False
        )
        self.sock = self.open_socket = tls
        tls.do_handshake()


def connect_first(addresses: Sequence[IPAddress], port: int, deadline: Deadline) -> socket.socket:
    """A TCP socket connected to the first address that accepts, in order, before the
    deadline; the last address's error if none does."""
    last_error: OSError = ConnectionError("no address to connect to")
    for address in addresses:
        family = socket.AF_INET if isinstance(address, ipaddress.IPv4Address) else socket.AF_INET6
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(deadline.remaining())
            sock.connect((str(address), port))
        except TimeoutError:
            sock.close()
            raise  # the time left was spent on this address: none remains for the next
        except OSError as error:
            sock.close()
            last_error = error
            continue
        # As http.client does: the body is a second write, and Nagle's algorithm would hold
        # it back until the headers are acknowledged.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise last_error


class Cutoff:
    """Shuts the connection's socket down when the deadline passes; `fired` tells that it
    did, so the error that follows (an early EOF) is reported as the timeout it is."""

    def __init__(
        self, connection: PinnedHTTPConnection | PinnedHTTPSConnection, deadline: Deadline
    ) -> None:
        self.fired = False
        self._connection = connection
        self._lock = threading.Lock()
        self._stopped = False
        self._timer = threading.Timer(max(deadline.end - time.monotonic(), 0.0), self._cut)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        """Call before closing the connection: no cut can land on a socket once closed."""
        with self._lock:
            self._stopped = True
        self._timer.cancel()

    def _cut(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self.fired = True
            sock = self._connection.open_socket
            if sock is not None:
                # The plain socket's shutdown, also for TLS: SSLSocket.shutdown would drop
                # the TLS state under a read in progress in the delivering thread.
                with suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
