"""For your own test suites: a MockPay Lab server in-process, with or without sockets.

# pytest: the plugin gives you a running server and a registered tenant
def test_checkout(mockpay_server):
    r = httpx.post(f"{mockpay_server.url}/api/payments", json={...},
                   headers={**mockpay_server.auth, "Idempotency-Key": "order-1"})

# no sockets at all: an httpx client wired to the app
async with asgi_client() as client:
    r = await client.get("/health")
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from server.app import create_app
from server.settings import Settings

STARTUP_S_MAX = 20.0


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(**settings: Any) -> Iterator[RunningServer]:
    """A server on 127.0.0.1 and a free port, on a temporary database, with one tenant."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Settings(**{"db": str(Path(tmp) / "mockpay.db"), "port": _free_port(), **settings})
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
