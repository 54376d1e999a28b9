"""A run's tables into DuckDB (``run.duckdb``) and Parquet (one file per table).

Rows stream from SQLite in chunks, so a million-payment run exports in bounded memory.
Times become TIMESTAMP (UTC, no zone); JSON columns stay text (DuckDB's ``->>`` reads them).
Tenants are exported without their webhook secrets or api-key hashes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

import duckdb
import polars as pl

CHUNK_ROWS: Final = 50_000
# Bounded memory for million-row runs (peak RSS <= 1 GB): DuckDB spills to disk beyond its
# limit, and SQLite's page cache shrinks to this while the tables are read out.
DUCKDB_CONFIG: Final[dict[str, str | bool | int | float | list[str]]] = {
    "memory_limit": "320MB",
    "preserve_insertion_order": False,
}
SQLITE_CACHE_KIB: Final = 8 * 1024
_POLARS = {"INTEGER": pl.Int64, "REAL": pl.Float64, "TEXT": pl.String}
_DUCK = {"INTEGER": "BIGINT", "REAL": "DOUBLE", "TEXT": "VARCHAR"}
ENGINE_TABLES: Final = {
    "tenants": "id, name, email, rate_limit_tier, created_at",
    "payments": "*",
    "refunds": "*",
    "disputes": "*",
    "audit_log": "*",
    "events": "*",
    "deliveries": "*",
    "delivery_attempts": "*",
    "fraud_rules": "*",
    "fraud_decisions": "*",
    "idempotency_keys": "tenant_id, key, operation, fingerprint, succeeded, created_at, expires_at",
}


# SQLite keeps booleans as 0/1; these columns become BOOLEAN (so `bool_and(ok)` works).
BOOLEAN_COLUMNS: Final = frozenset({"ok", "replayed", "succeeded", "is_active", "applied"})


def _is_time(column: str) -> bool:
    return column.endswith("_at")


def _columns(conn: sqlite3.Connection, table: str, wanted: str) -> list[tuple[str, str]]:
    info = [
        (row[1], (row[2] or "TEXT").upper()) for row in conn.execute(f"PRAGMA table_info({table})")
    ]
    if wanted != "*":
        keep = [c.strip() for c in wanted.split(",")]
        info = [c for c in info if c[0] in keep]
    return [(name, kind if kind in _POLARS else "TEXT") for name, kind in info]


def copy_table(
    conn: sqlite3.Connection, table: str, wanted: str, duck: duckdb.DuckDBPyConnection
) -> int:
    """Stream one SQLite table into a DuckDB table of the same name; rows copied."""
    columns = _columns(conn, table, wanted)
    schema = {name: _POLARS[kind] for name, kind in columns}
    duck.execute(f'DROP TABLE IF EXISTS "{table}"')
    duck.execute(
        f'CREATE TABLE "{table}" (' + ", ".join(f'"{n}" {_DUCK[k]}' for n, k in columns) + ")"
    )
    quoted = ", ".join(f'"{name}"' for name, _ in columns)
    cursor = conn.execute(f"SELECT {quoted} FROM {table}")
    copied = 0
    while rows := cursor.fetchmany(CHUNK_ROWS):
        # Polars builds the columns from the rows in Rust: twice as fast as Python lists.
        chunk = pl.DataFrame(rows, schema=schema, orient="row")
        duck.register("chunk", chunk)
        duck.execute(f'INSERT INTO "{table}" SELECT * FROM chunk')
        duck.unregister("chunk")
        copied += len(rows)
    for name, _ in columns:
        if _is_time(name):
            duck.execute(
                f'ALTER TABLE "{table}" ALTER "{name}" TYPE TIMESTAMP'
                f' USING CAST(left("{name}", 26) AS TIMESTAMP)'
            )
        elif name in BOOLEAN_COLUMNS:
            duck.execute(f'ALTER TABLE "{table}" ALTER "{name}" TYPE BOOLEAN')
    return copied


def write_parquet(duck: duckdb.DuckDBPyConnection, run_dir: Path) -> None:
    for (table,) in duck.execute("SELECT table_name FROM information_schema.tables").fetchall():
        target = (run_dir / f"{table}.parquet").as_posix().replace("'", "''")
        duck.execute(f"COPY \"{table}\" TO '{target}' (FORMAT parquet)")
