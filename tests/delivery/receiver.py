"""A real HTTP receiver on 127.0.0.1 for delivery tests: records every request it gets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from server.testing import http_on_thread


@dataclass
class Receiver:
    status: int = 200
    delay_s: float = 0.0
    location: str | None = None  # answer with a redirect to here
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def ids(self) -> list[str]:
        with self.lock:
            return [h["webhook-id"] for h, _ in self.requests]


@contextmanager
def running_receiver(**behaviour: object) -> Iterator[Receiver]:
    receiver = Receiver(**behaviour)  # type: ignore[arg-type]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if receiver.delay_s:
                time.sleep(receiver.delay_s)
            with receiver.lock:
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(receiver.status)
            if receiver.location:
                self.send_header("Location", receiver.location)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    with http_on_thread(Handler) as port:
        receiver.url = f"http://127.0.0.1:{port}/hooks"
        yield receiver
