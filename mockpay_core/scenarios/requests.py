"""What the simulated clients asked and what the receivers got, kept for analysis.

Both go to a small SQLite database beside the engine's (``client.db``), written in batches,
so long runs do not hold them in memory. They become the run's ``client_requests`` and
``received`` tables: the log is a ``RowSource`` of its own (``columns``, ``chunks``). It is the
runner's file, not the engine's store, so it talks to sqlite3 itself.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from mockpay_core.delivery.simulated import Received

FLUSH_ROWS: Final = 5_000
CHUNK_ROWS: Final = 50_000
TABLES: Final = ("client_requests", "received")
_SCHEMA: Final = """
CREATE TABLE client_requests (
    seq INTEGER PRIMARY KEY, requested_at TEXT NOT NULL, tenant TEXT NOT NULL, source TEXT NOT NULL,
    action TEXT NOT NULL, key TEXT, attempt INTEGER NOT NULL, ok INTEGER NOT NULL,
    replayed INTEGER NOT NULL, error_code TEXT, payment_id TEXT, status TEXT,
    response_digest TEXT NOT NULL
);
CREATE TABLE received (
    seq INTEGER PRIMARY KEY, receiver TEXT NOT NULL, webhook_id TEXT NOT NULL,
    event_type TEXT NOT NULL, payment_id TEXT NOT NULL, received_at TEXT NOT NULL,
    outcome TEXT NOT NULL, applied INTEGER NOT NULL
);
"""
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


def digest(data: Any) -> str:
    """A short fingerprint of a response, to tell identical answers from different ones."""
    return hashlib.sha256(_ENCODE(data).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Request:
    """One client request: ``send`` performs it; ``then`` follows a fresh success."""

    source: str
    tenant: str
    action: str
    key: str | None
    send: Callable[[], Any]
    then: Callable[[Any], None] | None = None
    attempt: int = 1


class RequestLog:
    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=OFF")
        self.conn.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._requests: list[tuple[Any, ...]] = []
        self._received: list[tuple[Any, ...]] = []
        self._seq = 0
        self._received_seq = 0

    def request(
        self,
        at: datetime,
        req: Request,
        *,
        ok: bool,
        replayed: bool,
        response: Any,
        error_code: str | None = None,
        payment_id: str | None = None,
        status: str | None = None,
    ) -> None:
        with self._lock:
            self._seq += 1
            self._requests.append((
                self._seq, at.isoformat(timespec="microseconds"), req.tenant, req.source,
                req.action, req.key, req.attempt, int(ok), int(replayed), error_code,
                payment_id, status, digest(response),
            ))  # fmt: skip
            if len(self._requests) >= FLUSH_ROWS:
                self._flush()

    def received(self, receiver: str, r: Received) -> None:
        with self._lock:
            self._received_seq += 1
            self._received.append((
                self._received_seq, receiver, r.webhook_id, r.event_type, r.payment_id,
                r.at.isoformat(timespec="microseconds"), r.outcome, int(r.applied),
            ))  # fmt: skip
            if len(self._received) >= FLUSH_ROWS:
                self._flush()

    def _flush(self) -> None:
        self.conn.execute("BEGIN")
        self.conn.executemany(
            f"INSERT INTO client_requests VALUES ({', '.join('?' * 13)})", self._requests
        )
        self.conn.executemany(f"INSERT INTO received VALUES ({', '.join('?' * 8)})", self._received)
        self.conn.execute("COMMIT")
        self._requests.clear()
        self._received.clear()

    def flush(self) -> None:
        with self._lock:
            self._flush()

    def columns(self, table: str) -> list[tuple[str, str]]:
        if table not in TABLES:
            raise ValueError(f"the client log has no table {table!r}")
        return [(r[1], r[2].upper()) for r in self.conn.execute(f"PRAGMA table_info({table})")]

    def chunks(
        self, table: str, columns: Sequence[tuple[str, str]]
    ) -> Iterator[list[tuple[Any, ...]]]:
        names = ", ".join(f'"{name}"' for name, _ in columns)
        cursor = self.conn.execute(f"SELECT {names} FROM {table} ORDER BY seq")
        while rows := cursor.fetchmany(CHUNK_ROWS):
            yield rows

    def close(self) -> None:
        self.conn.close()
