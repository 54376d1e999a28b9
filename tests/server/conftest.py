"""A real uvicorn on 127.0.0.1 serving the app, for HTTP tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from server import create_app
from server.settings import Settings
from server.testing import free_port

ADMIN = "admin-token-for-tests-0123456789"
HOOK = "http://127.0.0.1:9/hooks"


@dataclass
class Live:
    url: str
    http: httpx.Client
    admin: dict[str, str]
    db: str = ""  # the server's database: a file path or a postgresql:// URL

    def tenant(self, name: str = "Acme") -> tuple[dict[str, str], dict[str, object]]:
        r = self.http.post(
            "/api/auth/register", json={"name": name, "email": f"{name.replace(' ', '.')}@x.test"}
        )
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['api_key']}"}, r.json()


_free_port = free_port


def serve(settings: Settings, app: FastAPI | None = None) -> Iterator[Live]:
    """``app`` (by default the one ``settings`` make) on a real uvicorn, until the end."""
    app = app or create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    url = f"http://127.0.0.1:{settings.port}"
    with httpx.Client(base_url=url, timeout=10) as http:
        yield Live(url, http, {"Authorization": f"Bearer {ADMIN}"}, settings.db)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(params=["sqlite-file", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    """A server on an SQLite file, then on PostgreSQL (a schema of the test's own)."""
    if request.param == "postgres":
        url, schema = request.getfixturevalue("postgres_schema")
        db = f"{url}?schema={schema}"
    else:
        db = str(tmp_path / "server.db")
    settings = Settings(db=db, port=_free_port(), admin_token=ADMIN)
    yield from serve(settings)


@pytest.fixture
def live_simulated(tmp_path: Path) -> Iterator[Live]:
    settings = Settings(
        db=str(tmp_path / "sim.db"), port=_free_port(), admin_token=ADMIN, clock="simulated"
    )
    yield from serve(settings)
