"""Real webhook receivers for a run against a live server: HTTP on 127.0.0.1.

One listener on a free port serves every receiver of the scenario at
``/webhooks/<receiver>``. Each request's signature is checked with the tenants' secrets, then
the receiver's ``ReceiverModel`` decides the answer, exactly as the simulated receivers do
(``SimulatedTransport``: outages in simulated time, error rates, dedupe on ``webhook-id``),
and the request lands in the run's ``received`` table. The model's answers become HTTP: a
status (with ``Retry-After``), a connection closed without an answer (``refuse``,
``reset``), or, for a timeout, a real wait past the server's webhook timeout.
"""

from __future__ import annotations

import functools
import json
import random
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

import httpx

from mockpay_core.clock import SimulatedClock
from mockpay_core.delivery.simulated import Received, SimulatedReceiver, SimulatedTransport
from mockpay_core.delivery.transport import Reply
from mockpay_core.scenarios.requests import RequestLog
from mockpay_core.webhooks import SignatureError, verify

BODY_BYTES_MAX: Final = 1_048_576
TIMEOUT_MARGIN_S: Final = 0.5  # a timeout waits this much longer than the server's timeout
PREFIX: Final = "/webhooks/"


class HttpReceivers:
    """The scenario's receivers, listening on 127.0.0.1 until ``close``."""

    def __init__(
        self,
        receivers: dict[str, SimulatedReceiver],
        clock: SimulatedClock,
        rng: random.Random,
        log: RequestLog,
        secrets: Callable[[], list[str]],
        timeout_s: float,
    ) -> None:
        self._clock, self._log, self._secrets, self._timeout_s = clock, log, secrets, timeout_s
        self._lock = threading.Lock()  # the models' state and RNG: one answer at a time
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receivers = self
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        for name, receiver in receivers.items():
            receiver.sink = functools.partial(log.received, name)
        self._transport = SimulatedTransport(
            {self.url(name): r for name, r in receivers.items()}, clock, rng, timeout_s
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, receiver: str) -> str:
        return f"{self.base}{PREFIX}{receiver}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def answer(self, path: str, body: bytes, headers: dict[str, str]) -> Reply | str:
        """The reply to send, or ``"drop"`` (close without answering) or ``"wait"``."""
        name = path.removeprefix(PREFIX)
        with self._lock:
            if not self._signed(body, headers):
                self._refused(name, body, headers)
                return Reply(400, None, "bad signature")
            try:
                return self._transport.post(self.url(name), body, headers, self._timeout_s)
            except httpx.TimeoutException:
                return "wait"
            except httpx.HTTPError:
                return "drop"

    def _signed(self, body: bytes, headers: dict[str, str]) -> bool:
        for secret in self._secrets():
            try:
                verify(body, headers, secret, now=self._clock.now())
                return True
            except SignatureError:
                continue
        return False

    def _refused(self, name: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        self._log.received(name, Received(
            headers.get("webhook-id", ""), payload.get("event", ""), payload.get("payment_id", ""),
            self._clock.now(), "bad_signature", False,
        ))  # fmt: skip

    def wait_s(self) -> float:
        return self._timeout_s + TIMEOUT_MARGIN_S


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receivers: HttpReceivers


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the server's dispatcher expects
    server: _Server

    def do_POST(self) -> None:
        owner = self.server.receivers
        length = int(self.headers.get("Content-Length") or 0)
        if not self.path.startswith(PREFIX) or length > BODY_BYTES_MAX:
            self.send_error(404)
            return
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = owner.answer(self.path, body, headers)
        if isinstance(reply, str):
            if reply == "wait":
                time.sleep(owner.wait_s())
            self.close_connection = True  # no answer at all: the server sees the peer go
            return
        content = reply.excerpt.encode()
        self.send_response(reply.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        if reply.retry_after:
            self.send_header("Retry-After", reply.retry_after)
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: every request is in the run's ``received`` table."""
