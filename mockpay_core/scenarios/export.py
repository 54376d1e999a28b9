"""A run's tables into DuckDB (``run.duckdb``) and Parquet (one file per table).

Rows stream from a ``RowSource`` (the store's ``Tables``, on SQLite or PostgreSQL, or the
client log) in chunks, so a million-payment run exports in bounded memory.
Times become TIMESTAMP (UTC, no zone); JSON columns stay text (DuckDB's ``->>`` reads them).
Tenants are exported without their webhook secrets or api-key hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import duckdb
import polars as pl

from mockpay_core.scenarios.source import RowSource
from mockpay_core.storage.protocol import Column

__all__ = ["copy_table", "create_table", "finish_table", "insert_rows"]
Columns = list[Column]

# Bounded memory for million-row runs (peak RSS <= 1 GB): DuckDB spills to disk beyond its
# limit (and the runner shrinks SQLite's page cache while the tables are read out).
DUCKDB_CONFIG: Final[dict[str, str | bool | int | float | list[str]]] = {
    "memory_limit": "320MB",
    "preserve_insertion_order": False,
}
_POLARS = {"INTEGER": pl.Int64, "REAL": pl.Float64, "TEXT": pl.String}
_DUCK = {"INTEGER": "BIGINT", "REAL": "DOUBLE", "TEXT": "VARCHAR"}


# SQLite keeps booleans as 0/1; these columns become BOOLEAN (so `bool_and(ok)` works).
BOOLEAN_COLUMNS: Final = frozenset({"ok", "replayed", "succeeded", "is_active", "applied"})


def _is_time(column: str) -> bool:
    return column.endswith("_at")


def copy_table(source: RowSource, table: str, duck: duckdb.DuckDBPyConnection) -> int:
    """Stream one table of a finished run into a DuckDB table of the same name; rows copied."""
    columns = source.columns(table)
    create_table(duck, table, columns)
    copied = 0
    for rows in source.chunks(table, columns):
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
