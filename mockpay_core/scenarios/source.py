"""Where a finished run's tables are read from: its SQLite file, or its PostgreSQL schema.

Both hand the exporter the same thing, SQLite's representation: INTEGER, REAL or TEXT
columns, times as ISO 8601 text, booleans as 0/1, JSON as text. So a run exports to the
same DuckDB tables and Parquet files whichever database it ran on, and the same seed gives
the same event-log digest and audit heads.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final, Protocol

import psycopg

from mockpay_core.scenarios.tables import ENGINE_TABLES, table_columns

CHUNK_ROWS: Final = 50_000
_PAGE_KEYS: Final = {"idempotency_keys": "tenant_id || ' ' || key", "deliveries": "seq"}
Column = tuple[str, str]  # (name, INTEGER | REAL | TEXT)
_PG_KINDS: Final = {
    "bigint": ("INTEGER", "{}"),
    "integer": ("INTEGER", "{}"),
    "double precision": ("REAL", "{}"),
    "boolean": ("INTEGER", "{}::int"),
    "json": ("TEXT", "{}::text"),
    "timestamp with time zone": (
        "TEXT", "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
    ),
}  # fmt: skip
EVENT_LOG_SQL: Final = "SELECT id, type, payload, created_at FROM events ORDER BY created_at, id"


class RunSource(Protocol):
    def columns(self, table: str, wanted: str) -> list[Column]: ...
    def chunks(self, table: str, columns: list[Column]) -> Iterator[list[tuple[Any, ...]]]: ...
    def event_log_digest(self) -> str: ...
    def audit_head(self, tenant_id: str) -> str: ...
    def tamper(self, sql: str) -> None:
        """An attacker with database access: drop the audit triggers, then run ``sql``."""
        ...


def _keep(columns: list[Column], wanted: str) -> list[Column]:
    if wanted == "*":
        return columns
    keep = [c.strip() for c in wanted.split(",")]
    return [c for c in columns if c[0] in keep]


def event_log_digest(rows: Iterable[Sequence[str]]) -> str:
    """A fingerprint of the event log: the same scenario and seed give the same one."""
    h = hashlib.sha256()
    for row in rows:
        h.update("|".join(row).encode() + b"\n")
    return h.hexdigest()


class SqliteSource:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def columns(self, table: str, wanted: str) -> list[Column]:
        return table_columns(self.conn, table, wanted)

    def chunks(self, table: str, columns: list[Column]) -> Iterator[list[tuple[Any, ...]]]:
        quoted = ", ".join(f'"{name}"' for name, _ in columns)
        cursor = self.conn.execute(f"SELECT {quoted} FROM {table}")
        while rows := cursor.fetchmany(CHUNK_ROWS):
            yield rows

    def event_log_digest(self) -> str:
        return event_log_digest(self.conn.execute(EVENT_LOG_SQL))

    def audit_head(self, tenant_id: str) -> str:
        row = self.conn.execute(
            "SELECT hash FROM audit_log WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1",
            (tenant_id,),
        ).fetchone()
        return str(row[0]) if row else ""

    def tamper(self, sql: str) -> None:
        self.conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        self.conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        self.conn.executescript(sql)


class PostgresSource:
    """Reads through one connection whose search_path is the run's schema."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def columns(self, table: str, wanted: str) -> list[Column]:
        rows = self.conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        return [(n, _PG_KINDS.get(t, ("TEXT", ""))[0]) for n, t in _keep(rows, wanted)]

    def _select(self, table: str, columns: list[Column]) -> str:
        """SELECT the columns in SQLite's representation (times as text, booleans 0/1)."""
        types = dict(self.conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s", (table,),
        ).fetchall())  # fmt: skip
        exprs = [_PG_KINDS.get(types[n], ("TEXT", "{}"))[1].format(f'"{n}"') for n, _ in columns]
        return f"SELECT {', '.join(exprs)} FROM {table}"

    def tenant_page(
        self, table: str, tenant_ids: Sequence[str], after: str | None, limit: int
    ) -> tuple[list[Column], list[tuple[Any, ...]], str | None]:
        """As ``tables.tenant_page`` on SQLite: a page of some tenants' rows, keyset-paged."""
        columns = self.columns(table, ENGINE_TABLES[table])
        order = _PAGE_KEYS.get(table, "id")
        owner = "id" if table == "tenants" else "tenant_id"
        where = f"({owner} = ANY(%s){' OR tenant_id IS NULL' if table == 'fraud_rules' else ''})"
        params: list[object] = [list(tenant_ids)]
        if after is not None:
            where += f" AND {order} > %s" + ("::bigint" if order == "seq" else "")
            params.append(after)
        select = self._select(table, columns).replace(
            "SELECT ", f"SELECT ({order})::text AS page_key, ", 1
        )
        sql = f"{select} WHERE {where} ORDER BY {order} LIMIT %s"
        found = self.conn.execute(sql.encode(), [*params, limit + 1]).fetchall()
        more = len(found) > limit
        rows = [tuple(r[1:]) for r in found[:limit]]
        return columns, rows, str(found[limit - 1][0]) if more else None

    def chunks(self, table: str, columns: list[Column]) -> Iterator[list[tuple[Any, ...]]]:
        with self.conn.transaction(), self.conn.cursor(name=f"export_{table}") as cursor:
            cursor.execute(self._select(table, columns).encode())
            while rows := cursor.fetchmany(CHUNK_ROWS):
                yield rows

    def event_log_digest(self) -> str:
        columns = self.columns("events", "id, type, payload, created_at")
        sql = self._select("events", columns) + " ORDER BY created_at, id"
        return event_log_digest(self.conn.execute(sql.encode()).fetchall())

    def audit_head(self, tenant_id: str) -> str:
        row = self.conn.execute(
            "SELECT hash FROM audit_log WHERE tenant_id = %s ORDER BY seq DESC LIMIT 1",
            (tenant_id,),
        ).fetchone()
        return str(row[0]) if row else ""

    def tamper(self, sql: str) -> None:
        with self.conn.transaction():
            self.conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
            self.conn.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
            self.conn.execute(sql.encode())
