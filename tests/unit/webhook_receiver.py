"""A real HTTP(S) webhook receiver for the send tests, in a thread on 127.0.0.1.

It records every connection and request, and answers by path, each path one behaviour
of a receiver in the wild: accepting, failing, redirecting, hanging, dripping bytes,
hanging up, or not speaking HTTP at all.
"""

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAILURE_TEXT = "database is down\n\tretry later"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names lowercased
    body: bytes


class Receiver(ThreadingHTTPServer):
    daemon_threads = True  # a handler still hanging must not hold the test run

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.requests: list[Request] = []
        self.server_names: list[str | None] = []  # SNI, when serving TLS
        self.released = threading.Event()  # ends hanging and dripping answers

    @property
    def port(self) -> int:
        return self.server_address[1]

    def serve_tls(self, certificate: str, key: str) -> None:
        """Speak TLS with this certificate chain, recording the name each client asks for."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        context.sni_callback = lambda _socket, name, _context: self.server_names.append(name)
        self.socket = context.wrap_socket(self.socket, server_side=True)

    def verify_request(self, request: object, client_address: object) -> bool:
        self.connections += 1
        return True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up on a long answer is expected here


@contextmanager
def running(receiver: Receiver) -> Iterator[Receiver]:
    thread = threading.Thread(target=receiver.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        receiver.shutdown()
        receiver.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Receiver

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.requests.append(Request(self.command, self.path, headers, body))
        route = self.path.partition("?")[0]
        match route:
            case "/ok" | "/target":
                self._answer(200, b"thanks")
            case "/accepted":
                self._answer(202, b"")
            case "/fail":
                self._answer(500, FAILURE_TEXT.encode())
            case "/missing":
                self._answer(404, b"no such hook")
            case "/gone":
                self._answer(410, b"")
            case "/long-failure":
                self._answer(500, b"x" * 1_000_000)
            case "/redirect":
                self.send_response(302)
                self.send_header("Location", "/target")
                self.send_header("Content-Length", "0")
                self.end_headers()
            case "/hang":
                self.server.released.wait(10)
            case "/drip":  # a status line, then a byte of header every 0.1 s
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not self.server.released.wait(0.1):
                    self.wfile.write(b"x")
            case "/drip-body":  # a failure whose body comes a byte every 0.1 s
                self.send_response(500)
                self.send_header("Content-Length", "100000")
                self.send_header("Connection", "close")  # http.client hands the socket over
                self.end_headers()
                while not self.server.released.wait(0.1):
                    self.wfile.write(b"x")
            case "/hang-up":
                self.close_connection = True
            case "/not-http":
                self.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n")
                self.close_connection = True
            case _:
                self._answer(404, b"")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
