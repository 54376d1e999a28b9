"""Real processes on one PostgreSQL database: ``mockpay serve`` servers and ``mockpay worker``s.

Each server is its own ``mockpay serve`` process on its own port (webhook delivery left to
the workers), so a test can spread requests over them and SIGKILL one of them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from mockpay_core.storage.open import split_schema
from server.testing import free_port, mockpay_argv, start_process, stop_process, wait_accepting

ADMIN = "scaleout-admin-token-0123456789"
START_S_MAX = 60
RETRY_STATUSES = frozenset({409, 502, 503})  # 409 only for idempotency_key_in_use


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
        argv = mockpay_argv("serve", "--db", self.db, "--port", str(self.port))
        self.proc = start_process(argv, env=env)

    def wait_ready(self) -> None:
        assert self.proc is not None, "the server was not started"
        wait_accepting(self.proc, self.port, timeout_s=START_S_MAX)
        assert httpx.get(f"{self.url}/health", timeout=2).status_code == 200

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout_s=20, sig=sig)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def connect(db: str) -> psycopg.Connection[tuple[Any, ...]]:
    """A plain connection to ``db`` (``...?schema=s``), to look at the tables directly."""
    url, schema = split_schema(db)
    return psycopg.connect(url, options=f"-c search_path={schema}")


def start_worker(db: str, *extra: str) -> subprocess.Popen[bytes]:
    return start_process(mockpay_argv("worker", "--db", db, *extra))


def stop(proc: subprocess.Popen[bytes]) -> None:
    stop_process(proc, timeout_s=15)


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
