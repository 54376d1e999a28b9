"""The ceiling: a bare FastAPI app under uvicorn, one process, on its own SQLite file.

Its POST /payments validates the same body as ours with pydantic and runs one INSERT (WAL,
synchronous=NORMAL, a connection per thread); its GET /payments selects the 10 newest of
``LISTED`` rows. ``bare.py DB --port N`` serves it (the benchmarks start it so).
"""

import argparse
import os
import sqlite3
import sys
from typing import TYPE_CHECKING, Any

# No ``from __future__ import annotations``: FastAPI reads the bare app's annotations, and
# its body model is local to bare_app.

if TYPE_CHECKING:
    from fastapi import FastAPI

HOST = "127.0.0.1"
CURRENCY = "USD"
PAGE = 10
LISTED = 10_000
BUSY_TIMEOUT_S = 5


def argv(db: str) -> list[str]:
    """The command that serves the bare app on ``db`` (``serving`` adds ``--port``)."""
    return [sys.executable, os.path.realpath(__file__), db]


def bare_app(db: str) -> "FastAPI":
    """POST /payments: validate, one INSERT, 201. GET /payments: the 10 newest rows."""
    import threading
    import uuid
    from datetime import UTC, datetime
    from typing import Annotated

    from fastapi import FastAPI, Header
    from fastapi.responses import JSONResponse
    from pydantic import AnyHttpUrl, BaseModel, Field

    class Body(BaseModel):
        amount: float = Field(gt=0, le=10_000_000)
        currency: str = Field(pattern="^[A-Z]{3}$")
        webhook_url: AnyHttpUrl

    local = threading.local()

    def conn() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            local.conn = open_bare(db)
        return local.conn

    app = FastAPI()

    @app.post("/payments", status_code=201)
    def create(body: Body, idempotency_key: Annotated[str | None, Header()] = None) -> JSONResponse:
        pid, now = str(uuid.uuid4()), datetime.now(UTC).isoformat()
        row = (pid, "bare-create", round(body.amount * 100), body.currency)
        conn().execute(
            "INSERT INTO payments VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*row, str(body.webhook_url), idempotency_key, now),
        )
        payment = {"id": pid, "amount": body.amount, "currency": body.currency, "created_at": now}
        return JSONResponse({"payment_id": pid, "status": "pending", "payment": payment}, 201)

    @app.get("/payments")
    def list_(limit: int = PAGE) -> dict[str, Any]:
        rows = conn().execute(
            "SELECT id, amount_minor, currency, webhook_url, created_at FROM payments"
            " WHERE tenant_id = 'bare-list' ORDER BY created_at DESC, id DESC LIMIT ?",
            (limit,),
        )
        names = ("id", "amount_minor", "currency", "webhook_url", "created_at")
        data = [dict(zip(names, r, strict=True)) for r in rows]
        return {"data": data, "total": len(data)}

    return app


def open_bare(db: str) -> sqlite3.Connection:
    conn = sqlite3.connect(
        db, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def make_bare_db(db: str) -> None:
    conn = open_bare(db)
    conn.execute(
        "CREATE TABLE payments (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, amount_minor"
        " INTEGER NOT NULL, currency TEXT NOT NULL, webhook_url TEXT NOT NULL,"
        " idempotency_key TEXT, created_at TEXT NOT NULL)"
    )
    conn.execute("CREATE INDEX payments_page ON payments (tenant_id, created_at DESC, id DESC)")
    rows = (
        (f"bare-{i:05}", "bare-list", 4999, CURRENCY, "http://x.test/", None, f"2026-01-01 {i:05}")
        for i in range(LISTED)
    )
    with conn:
        conn.executemany("INSERT INTO payments VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.close()


def main() -> None:
    """``bare.py DB --port N``: serve the bare app on ``DB`` (made by ``make_bare_db``)."""
    import uvicorn

    parser = argparse.ArgumentParser(description="the bare FastAPI + SQLite app, served")
    parser.add_argument("db")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(bare_app(args.db), host=HOST, port=args.port, log_level="warning",
                access_log=False)  # fmt: skip


if __name__ == "__main__":
    main()
