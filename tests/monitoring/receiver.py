"""The tests' alert receiver: Alertmanager's webhook POSTs, kept in memory with the time
each arrived, and served back as a JSON list on GET /alerts. Standard library only: it runs
in the Python base image (tests/monitoring/conftest.py)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

received: list[dict] = []
lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            received.append({"received_at": time.time(), "payload": json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        with lock:
            body = json.dumps(received).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8080), Receiver).serve_forever()  # noqa: S104
