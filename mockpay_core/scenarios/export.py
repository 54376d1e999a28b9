"""A run's tables into DuckDB (``run.duckdb``) and Parquet (one file per table).

Rows stream from SQLite in chunks, so a million-payment run exports in bounded memory.
Times become TIMESTAMP (UTC, no zone); JSON columns stay text (DuckDB's ``->>`` reads them).
Tenants are exported without their webhook secrets or api-key hashes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import duckdb
import polars as pl

from mockpay_core.scenarios import tables
from mockpay_core.scenarios.tables import ENGINE_TABLES, Columns

__all__ = ["ENGINE_TABLES", "copy_table", "create_table", "finish_table", "insert_rows"]

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


# SQLite keeps booleans as 0/1; these columns become BOOLEAN (so `bool_and(ok)` works).
BOOLEAN_COLUMNS: Final = frozenset({"ok", "replayed", "succeeded", "is_active", "applied"})


def _is_time(column: str) -> bool:
    return column.endswith("_at")


def copy_table(
    conn: sqlite3.Connection, table: str, wanted: str, duck: duckdb.DuckDBPyConnection
) -> int:
    """Stream one SQLite table into a DuckDB table of the same name; rows copied."""
    columns = tables.table_columns(conn, table, wanted)
    create_table(duck, table, columns)
    quoted = ", ".join(f'"{name}"' for name, _ in columns)
    cursor = conn.execute(f"SELECT {quoted} FROM {table}")
    copied = 0
    while rows := cursor.fetchmany(CHUNK_ROWS):
        insert_rows(duck, table, columns, rows)
        copied += len(rows)
    finish_table(duck, table, columns)
    return copied


def create_table(duck: duckdb.DuckDBPyConnection, table: str, columns: Columns) -> None:
    duck.execute(f'DROP TABLE IF EXISTS "{table}"')
    duck.execute(
        f'CREATE TABLE "{table}" (' + ", ".join(f'"{n}" {_DUCK[k]}' for n, k in columns) + ")"
    )


def insert_rows(
    duck: duckdb.DuckDBPyConnection, table: str, columns: Columns, rows: Sequence[Any]
) -> None:
    # Polars builds the columns from the rows in Rust: twice as fast as Python lists.
    chunk = pl.DataFrame(rows, schema={n: _POLARS[k] for n, k in columns}, orient="row")
    duck.register("chunk", chunk)
    duck.execute(f'INSERT INTO "{table}" SELECT * FROM chunk')
    duck.unregister("chunk")


def finish_table(duck: duckdb.DuckDBPyConnection, table: str, columns: Columns) -> None:
    """Text times become TIMESTAMP, 0/1 flags BOOLEAN."""
    for name, _ in columns:
        if _is_time(name):
            duck.execute(
                f'ALTER TABLE "{table}" ALTER "{name}" TYPE TIMESTAMP'
                f' USING CAST(left("{name}", 26) AS TIMESTAMP)'
            )
        elif name in BOOLEAN_COLUMNS:
            duck.execute(f'ALTER TABLE "{table}" ALTER "{name}" TYPE BOOLEAN')


def write_parquet(duck: duckdb.DuckDBPyConnection, run_dir: Path) -> None:
    for (table,) in duck.execute("SELECT table_name FROM information_schema.tables").fetchall():
        target = (run_dir / f"{table}.parquet").as_posix().replace("'", "''")
        duck.execute(f"COPY \"{table}\" TO '{target}' (FORMAT parquet)")
