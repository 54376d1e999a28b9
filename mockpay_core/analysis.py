"""Open a scenario run for analysis in one call, with DuckDB or Polars.

    from mockpay_core import analysis
    con = analysis.duckdb_run("runs/happy-path")         # DuckDB, read-only
    con.sql("SELECT status, count(*) FROM payments GROUP BY 1").show()
    payments = analysis.table("runs/happy-path", "payments")   # a Polars DataFrame
    df = analysis.query("runs/happy-path", "SELECT ...")       # SQL in, Polars out

Every table of a run is a Parquet file beside ``run.duckdb``; times are UTC TIMESTAMPs and
amounts integer minor units (``amount_minor``).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

DATABASE = "run.duckdb"


def _run_dir(run: str | Path) -> Path:
    path = Path(run)
    if not (path / DATABASE).is_file():
        raise FileNotFoundError(
            f"{path} is not a scenario run (no {DATABASE}); `mockpay run` makes one"
        )
    return path


def duckdb_run(run: str | Path) -> duckdb.DuckDBPyConnection:
    """The run's DuckDB database, read-only."""
    return duckdb.connect(str(_run_dir(run) / DATABASE), read_only=True)


def tables(run: str | Path) -> list[str]:
    return sorted(p.stem for p in _run_dir(run).glob("*.parquet"))


def table(run: str | Path, name: str) -> pl.DataFrame:
    """One table of the run as a Polars DataFrame (from its Parquet file)."""
    path = _run_dir(run) / f"{name}.parquet"
    if not path.is_file():
        raise KeyError(f"no table {name!r} in {run}; there are: {', '.join(tables(run))}")
    return pl.read_parquet(path)


def query(run: str | Path, sql: str) -> pl.DataFrame:
    """SQL over the run's tables in DuckDB, the result as a Polars DataFrame."""
    with duckdb_run(run) as con:
        frame: pl.DataFrame = con.sql(sql).pl()
    return frame


def _sweep_file(path: str | Path) -> Path:
    found = Path(path)
    found = found / "sweep.parquet" if found.is_dir() else found
    if not found.is_file():
        raise FileNotFoundError(
            f"{path} is not a sweep (no sweep.parquet); `mockpay sweep` makes one"
        )
    return found


def sweep(path: str | Path) -> pl.DataFrame:
    """A sweep's dataset (``mockpay sweep``'s folder or its ``sweep.parquet``) in Polars:
    one row per run, the parameters and ``seed`` as columns, then ``ok``, ``error``,
    ``run_dir``, each expectation's value (``expect: <name>``) and each metric."""
    return pl.read_parquet(_sweep_file(path))


def duckdb_sweep(path: str | Path) -> duckdb.DuckDBPyConnection:
    """The same dataset in an in-memory DuckDB, as the view ``runs``."""
    con = duckdb.connect()
    quoted = str(_sweep_file(path)).replace("'", "''")
    con.execute(f"CREATE VIEW runs AS SELECT * FROM read_parquet('{quoted}')")
    return con
