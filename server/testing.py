"""For your own test suites: a MockPay Lab server in-process, with or without sockets.

# pytest: the plugin gives you a running server and a registered tenant
def test_checkout(mockpay_server):
    r = httpx.post(f"{mockpay_server.url}/api/payments", json={...},
                   headers={**mockpay_server.auth, "Idempotency-Key": "order-1"})

# no sockets at all: an httpx client wired to the app
async with asgi_client() as client:
    r = await client.get("/health")

# a real `mockpay serve` process (or any server that takes --port), always stopped
with serving(mockpay_argv("serve", "--db", "t.db"), log="serve.log") as served:
    r = httpx.get(f"{served.url}/health")
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from server.app import create_app
from server.settings import Settings

STARTUP_S_MAX = 20.0
STOP_S_MAX = 10.0
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class RunningServer:
    url: str
    api_key: str
    tenant_id: str
    webhook_secret: str
    admin_token: str
    app: FastAPI

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}


class ProcessNotReady(RuntimeError):
    """A started server process exited, or did not accept connections in time."""


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port on ``host`` that nothing listens on now (the OS's pick)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


_free_port = free_port


def wait_accepting(
    proc: subprocess.Popen[bytes],
    port: int,
    *,
    host: str = LOOPBACK,
    timeout_s: float = STARTUP_S_MAX,
    log: str | None = None,
) -> None:
    """Return once ``host:port`` accepts a TCP connection; ``ProcessNotReady`` if ``proc``
    exits first or ``timeout_s`` passes (naming ``log``, where its output went)."""
    see = f"; see {log}" if log else ""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ProcessNotReady(f"{proc.args!r} exited with code {proc.returncode}{see}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise ProcessNotReady(f"{proc.args!r} did not accept on {host}:{port} in {timeout_s} s{see}")


def start_process(
    argv: Sequence[str], log: str | None = None, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``argv`` in a session (process group) of its own, stdout and stderr to the file
    ``log`` (discarded if None), so that ``stop_process`` reaches its children too."""
    environment = None if env is None else dict(env)
    with open(log or os.devnull, "wb") as out:
        return subprocess.Popen(
            list(argv), stdout=out, stderr=subprocess.STDOUT, env=environment,
            start_new_session=True,
        )  # fmt: skip


def stop_process(
    proc: subprocess.Popen[bytes], timeout_s: float = STOP_S_MAX, sig: int = signal.SIGTERM
) -> None:
    """``sig`` to the process group of ``proc`` (started by ``start_process``), SIGKILL if
    it still runs after ``timeout_s``; returns once it has exited."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout_s)
    except ProcessLookupError:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@dataclass(frozen=True)
class ServedProcess:
    """A server process started by ``serving``: its base URL, port and process."""

    url: str
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid


@contextmanager
def http_on_thread(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """``handler`` served on 127.0.0.1 (a free port, yielded) by a thread per request, on a
    thread of its own, until the block ends."""

    class Server(ThreadingHTTPServer):
        request_queue_size = 64  # the default 5 drops a batch's connections for a second
        daemon_threads = True

    server = Server((LOOPBACK, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class FlakyReceiver:
    """A webhook receiver started by ``flaky_receiver``: it answers each event's first
    ``failures`` attempts (by ``webhook-id``) with 503 ``busy, try again``, later ones with
    200 ``thanks``; while ``down`` is set, every attempt gets 500 ``receiver down``."""

    failures: int = 2
    down: bool = False
    url: str = ""
    attempts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, event_id: str) -> tuple[int, bytes]:
        with self.lock:
            self.attempts[event_id] += 1
            n = self.attempts[event_id]
        if self.down:
            return 500, b"receiver down"
        return (503, b"busy, try again") if n <= self.failures else (200, b"thanks")


@contextmanager
def flaky_receiver(failures: int = 2, down: bool = False) -> Iterator[FlakyReceiver]:
    """A ``FlakyReceiver`` on 127.0.0.1 (its ``url`` ends in ``/hooks``) until the block ends:
    for watching retries and dead letters happen."""
    found = FlakyReceiver(failures, down)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, body = found.answer(self.headers.get("webhook-id", ""))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with http_on_thread(Handler) as port:
        found.url = f"http://{LOOPBACK}:{port}/hooks"
        yield found


def mockpay_argv(*args: str) -> list[str]:
    """The ``mockpay`` command of this Python environment with ``args``."""
    return [sys.executable, "-m", "mockpay_core.cli", *args]


@contextmanager
def serving(
    argv: Sequence[str],
    log: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    port_flag: str | None = "--port",
    timeout_s: float = STARTUP_S_MAX,
    stop_timeout_s: float = STOP_S_MAX,
) -> Iterator[ServedProcess]:
    """``argv`` plus ``port_flag <a free port>`` (the port alone if ``port_flag`` is None),
    output to ``log``, once it accepts connections on 127.0.0.1; stopped (its whole process
    group) on leaving, always."""
    port = free_port()
    flag = [] if port_flag is None else [port_flag]
    proc = start_process([*argv, *flag, str(port)], log, env)
    try:
        wait_accepting(proc, port, timeout_s=timeout_s, log=log)
        yield ServedProcess(f"http://{LOOPBACK}:{port}", port, proc)
    finally:
        stop_process(proc, stop_timeout_s)


@contextmanager
def running_server(**settings: Any) -> Iterator[RunningServer]:
    """A server on 127.0.0.1 and a free port, on a temporary database, with one tenant."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Settings(**{"db": str(Path(tmp) / "mockpay.db"), "port": free_port(), **settings})
        app = create_app(config)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=config.port, log_level="error")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + STARTUP_S_MAX
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the MockPay Lab server did not start")
            time.sleep(0.02)
        try:
            new = app.state.engine.register_tenant("Test tenant", "tests@mockpay.test")
            yield RunningServer(
                f"http://127.0.0.1:{config.port}", new.api_key, new.tenant.id,
                new.tenant.webhook_secret, app.state.admin_token, app,
            )  # fmt: skip
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def asgi_client(app: FastAPI | None = None, **settings: Any) -> httpx.AsyncClient:
    """An httpx client that calls the app directly (no sockets); ``:memory:`` by default."""
    if app is None:
        app = create_app(Settings(**{"db": ":memory:", "deliver_webhooks": False, **settings}))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mockpay")
