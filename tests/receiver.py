"""A webhook receiver for the tests' stacks (the e2e tier's webhooks, the monitoring tier's
Alertmanager): every POST kept in memory, with its headers and exact body, and served back
as a JSON list on GET. Standard library only: it runs in the Python base image."""

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

received: list[dict] = []
lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith("/hang"):
            time.sleep(60)  # a receiver that never answers in time
        with lock:
            received.append(
                {
                    "received_at": time.time(),
                    "path": self.path,
                    "headers": {name.lower(): value for name, value in self.headers.items()},
                    # Base64: the exact bytes the signature covers.
                    "body": base64.b64encode(body).decode(),
                }
            )
        self.send_response(204)
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
