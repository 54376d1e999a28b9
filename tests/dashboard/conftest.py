"""A real server on 127.0.0.1 (uvicorn on a thread, an SQLite file) for the dashboard's
tests, and a signed-in httpx client per viewer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from server.testing import free_port
from tests.server.conftest import ADMIN, Live, live, serve

__all__ = ["live"]  # the server fixture on an SQLite file and on PostgreSQL

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


@dataclass
class Viewer:
    """A person at the dashboard: their cookie jar, and the CSRF token of their session."""

    http: httpx.Client
    csrf: str

    def post(self, path: str, **fields: str) -> httpx.Response:
        return self.http.post(path, data={"csrf": self.csrf, **fields})


def sign_in(url: str, key: str) -> Viewer:
    http = httpx.Client(base_url=url, timeout=10)
    token = csrf_of(http.get("/dashboard/login").text)
    r = http.post("/dashboard/login", data={"key": key, "csrf": token})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/dashboard/payments"
    return Viewer(http, csrf_of(http.get("/dashboard/payments").text))


def create_payment(live: Live, auth: dict[str, str], key: str, **fields: object) -> str:
    body = {"amount": 25.5, "currency": "USD", "webhook_url": "http://127.0.0.1:9/h", **fields}
    r = live.http.post("/api/payments", json=body, headers={**auth, "Idempotency-Key": key})
    assert r.status_code == 201, r.text
    return str(r.json()["payment_id"])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server for a module's tests, on the simulated clock (nothing moves unasked),
    with no fraud rules until a test makes one (many payments at one instant would trip
    the default velocity rules)."""
    db = Path(tmp_path_factory.mktemp("dashboard")) / "site.db"
    settings = Settings(
        db=str(db), port=free_port(), admin_token=ADMIN, clock="simulated",
        deliver_webhooks=False, default_fraud_rules=False,
    )  # fmt: skip
    yield from serve(settings)
