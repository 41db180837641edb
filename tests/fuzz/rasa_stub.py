"""A tiny local stand-in for Rasa's REST channel, so that fuzzing the web chat needs no Rasa server.

It answers every `POST /webhooks/rest/webhook` with one message and a button, and records each payload.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = [{"recipient_id": "x", "text": "Dag! Waarmee kan ik je helpen?",
           "buttons": [{"title": "Iets melden", "payload": "/melden"}]}]


class RasaStub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.payloads: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: RasaStub

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path != "/webhooks/rest/webhook":
            self.send_error(404)
            return
        self.server.payloads.append(json.loads(body))
        answer = json.dumps(ANSWER).encode("utf-8")
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def running_rasa_stub() -> Iterator[RasaStub]:
    server = RasaStub()
    thread = threading.Thread(target=server.serve_forever, name="rasa-stub", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
