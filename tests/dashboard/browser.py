"""What the browser tests stand on: Debian's Chromium found (or a reason to skip), a
webhook receiver on 127.0.0.1 whose paths fail as told, and a server that delivers
webhooks on a fast retry schedule."""

from __future__ import annotations

import os
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from mockpay_core import Engine
from mockpay_core.config import DeliveryConfig, EngineConfig
from mockpay_core.domain.retry import RetrySchedule
from mockpay_core.storage.open import open_store
from server import create_app
from server.settings import Settings
from server.testing import free_port, http_on_thread
from tests.server.conftest import ADMIN, Live, serve

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Three attempts a second apart: a receiver that fails twice is answered on the third.
FAST = DeliveryConfig(schedule=RetrySchedule(delays_s=(0, 1, 1), jitter=0), timeout_s=2)


def chromium() -> tuple[str | None, str]:
    """(the browser's path, or None and why not)."""
    named = os.environ.get("MOCKPAY_CHROMIUM")
    if named:
        return (
            (named, "") if Path(named).exists() else (None, f"MOCKPAY_CHROMIUM={named} is missing")
        )
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found, ""
    return None, "no Chromium on PATH (apt-get install chromium, or set MOCKPAY_CHROMIUM)"


@dataclass
class Receiver:
    """``/flaky`` answers 503 to an event's first two attempts, then 200; ``/down`` answers
    500 until ``up`` is set."""

    url: str = ""
    up: bool = False
    seen: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def receiver() -> Iterator[Receiver]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with found.lock:
                found.seen[self.headers.get("webhook-id", "")] += 1
                n = found.seen[self.headers.get("webhook-id", "")]
            if self.path == "/flaky":
                status, body = (503, b"busy, try again") if n <= 2 else (200, b"thanks")
            else:
                status, body = (200, b"back up") if found.up else (500, b"receiver down")
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with http_on_thread(Handler) as port:
        found.url = f"http://127.0.0.1:{port}"
        yield found


def delivering_server(db: Path) -> Iterator[Live]:
    """The server ``mockpay serve`` runs (system clock, webhooks delivered in-process),
    on a fast retry schedule."""
    settings = Settings(db=str(db), port=free_port(), admin_token=ADMIN, default_fraud_rules=False)
    engine = Engine(
        open_store(settings.db), config=EngineConfig(delivery=FAST, seed_default_fraud_rules=False)
    )
    yield from serve(settings, create_app(settings, engine=engine))
