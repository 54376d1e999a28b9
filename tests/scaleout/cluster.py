"""Real processes on one PostgreSQL database: ``mockpay serve`` servers and ``mockpay worker``s.

Each server is its own ``mockpay serve`` process on its own port (webhook delivery left to
the workers), so a test can spread requests over them and SIGKILL one of them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from mockpay_core.storage.postgres.store import split_schema

ADMIN = "scaleout-admin-token-0123456789"
START_S_MAX = 60
RETRY_STATUSES = frozenset({409, 502, 503})  # 409 only for idempotency_key_in_use


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    db: str
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "MOCKPAY_ADMIN_TOKEN": ADMIN, "MOCKPAY_DELIVER_WEBHOOKS": "false"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockpay_core.cli", "serve", "--db", self.db,
             "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_S_MAX
        while True:
            assert self.proc is not None and self.proc.poll() is None, "the server died"
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=20)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def connect(db: str) -> psycopg.Connection[tuple[Any, ...]]:
    """A plain connection to ``db`` (``...?schema=s``), to look at the tables directly."""
    url, schema = split_schema(db)
    return psycopg.connect(url, options=f"-c search_path={schema}")


def start_worker(db: str, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mockpay_core.cli", "worker", "--db", db, *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def servers(db: str, count: int) -> Iterator[list[Server]]:
    started = [Server(db) for _ in range(count)]
    try:
        for s in started:
            s.start()
        for s in started:
            s.wait_ready()
        yield started
    finally:
        for s in started:
            s.kill(signal.SIGTERM)


def register(url: str, name: str) -> tuple[dict[str, str], str]:
    r = httpx.post(f"{url}/api/auth/register", json={"name": name, "email": f"{name}@x.test"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}"}, str(r.json()["tenant_id"])


def create_retrying(
    urls: list[str],
    auth: dict[str, str],
    key: str,
    body: dict[str, Any],
    first: int = 0,
    deadline_s: float = 120,
    path: str = "/api/payments",
) -> httpx.Response:
    """A client that retries with the same key until an answer is final: on connection
    errors, 5xx and ``idempotency_key_in_use``, the next server in turn, after a pause.
    ``path`` posts elsewhere (``/api/payments/<id>/simulate``)."""
    deadline = time.monotonic() + deadline_s
    with httpx.Client(timeout=30) as http:
        for attempt in range(10_000):
            url = urls[(first + attempt) % len(urls)]
            try:
                r = http.post(f"{url}{path}", json=body,
                              headers={**auth, "Idempotency-Key": key})  # fmt: skip
                retry = r.status_code >= 500 or (
                    r.status_code == 409 and r.json().get("code") == "idempotency_key_in_use"
                )
                if not retry:
                    return r
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"no final answer for {key}"
            time.sleep(min(0.05 * (attempt + 1), 0.5))
    raise AssertionError("unreachable")
