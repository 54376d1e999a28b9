"""What every shared query class stands on: a connection and its dialect's ``Sql``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from mockpay_core.storage.sql.dialect import Row, encode_time
from mockpay_core.storage.sql.queries import Sql
from mockpay_core.storage.sql.schema import Kind


class Connected:
    """Over a DB-API-like connection (``execute(sql, params)`` returning a cursor)."""

    sql: ClassVar[Sql]  # set by each adapter's subclass

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def _one(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    def _all(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Row]:
        rows: list[Row] = self._conn.execute(sql, params).fetchall()
        return rows

    def _rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Iterable[Row]:
        """Rows as they come (a long result, streamed where the driver streams)."""
        rows: Iterable[Row] = self._conn.execute(sql, params)
        return rows

    def _count(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> int:
        """Rows ``sql`` changed."""
        cursor = self._conn.execute(sql, params)
        self._settle()
        return int(cursor.rowcount)

    def _settle(self) -> None:
        """Wait for the statements sent so far (a pipelining adapter sends without waiting);
        their errors are raised here."""

    def _time(self, when: datetime | None) -> Any:
        return encode_time(self.sql.dialect, when)

    def _decode_time(self, value: Any) -> datetime:
        decode = self.sql.dialect.decoder(Kind.TIME)
        found: datetime = value if decode is None else decode(value)
        return found
