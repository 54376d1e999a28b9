"""Where an export reads rows from, and the fingerprint of a run's event log.

A ``RowSource`` is anything with ``columns(table)`` and ``chunks(table, columns)``: a
store's ``Tables`` (``Store.tables()``, the engine's tables on any database) or the
client log (``RequestLog``). Rows come in SQLite's representation, so a run exports the
same DuckDB tables whichever database it ran on, and the same seed gives the same
event-log digest and audit heads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final, Protocol

from mockpay_core.storage.protocol import Column, Tables

EVENT_LOG_COLUMNS: Final = ("id", "type", "payload", "created_at")
EVENT_LOG_SQL: Final = f"SELECT {', '.join(EVENT_LOG_COLUMNS)} FROM events ORDER BY created_at, id"


class RowSource(Protocol):
    def columns(self, table: str) -> list[Column]: ...
    def chunks(self, table: str, columns: Sequence[Column]) -> Iterator[list[tuple[Any, ...]]]: ...


def event_log_digest(rows: Iterable[Sequence[str]]) -> str:
    """A fingerprint of the event log: the same scenario and seed give the same one."""
    h = hashlib.sha256()
    for row in rows:
        h.update("|".join(row).encode() + b"\n")
    return h.hexdigest()


def tables_event_log_digest(tables: Tables) -> str:
    """``event_log_digest`` of a store's events, in (created_at, id) order."""
    kinds = dict(tables.columns("events"))
    columns = [(name, kinds[name]) for name in EVENT_LOG_COLUMNS]
    chunks = tables.chunks("events", columns, order_by=("created_at", "id"))
    return event_log_digest(row for chunk in chunks for row in chunk)
