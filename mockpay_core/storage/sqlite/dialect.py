"""SQLite's spelling of the shared queries: ``?`` placeholders, times as ISO 8601 text."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import ClassVar, Final

from mockpay_core.errors import AuditImmutable, StorageBusy, StorageError
from mockpay_core.storage.sql.dialect import Codec, Dialect, dumps, immutable_message
from mockpay_core.storage.sql.queries import Sql
from mockpay_core.storage.sql.schema import Kind

_BUSY_NAMES: Final = ("SQLITE_BUSY", "SQLITE_LOCKED")


@functools.lru_cache(maxsize=256)
def ts(when: datetime) -> str:
    """Times are stored as fixed-width ISO 8601 UTC text, which sorts in time order, whatever
    zone a time came in (``since`` from an admin's query may carry an offset). Cached: one
    unit of work formats the same instant many times, and equal instants are equal keys
    whatever their zone, so the text must not depend on it."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


@contextmanager
def translate_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        name = getattr(exc, "sqlite_errorname", "")
        if name.startswith(_BUSY_NAMES) or "database is locked" in str(exc):
            raise StorageBusy("The database is busy; try again") from exc
        if "append-only" in str(exc):
            raise AuditImmutable(immutable_message(str(exc))) from exc
        raise StorageError(f"Database error: {exc}") from exc


class SqliteDialect(Dialect):
    name = "sqlite"
    _encoders: ClassVar[dict[Kind, Codec]] = {Kind.TIME: ts, Kind.JSON: dumps, Kind.BOOL: int}
    _decoders: ClassVar[dict[Kind, Codec]] = {
        Kind.TIME: datetime.fromisoformat, Kind.JSON: json.loads, Kind.BOOL: bool,
    }  # fmt: skip

    def encoder(self, kind: Kind) -> Codec | None:
        return self._encoders.get(kind)

    def decoder(self, kind: Kind) -> Codec | None:
        return self._decoders.get(kind)

    def time_text(self, value: str) -> str:
        return value

    def seconds_between(self, later: str, earlier: str) -> str:
        return f"(julianday({later}) - julianday({earlier})) * 86400.0"

    def unindexed(self, column: str) -> str:
        return f"+{column}"  # SQLite's documented way to keep an index out of a plan

    def whole_minutes_between(self, later: str, earlier: str) -> str:
        # Integer seconds: julianday's floating days put a boundary's time a minute early.
        return (
            f"((CAST(strftime('%s', {later}) AS INTEGER)"
            f" - CAST(strftime('%s', {earlier}) AS INTEGER)) / 60)"
        )

    def translate_errors(self) -> AbstractContextManager[None]:
        return translate_errors()


SQLITE: Final = SqliteDialect()
SQL: Final = Sql(SQLITE)  # every statement, rendered once
