"""Running a scenario end to end: play it, export its tables, check its expectations."""

from __future__ import annotations

import functools
import heapq
import operator
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from mockpay_core.domain.audit import ChainVerification
from mockpay_core.scenarios import export
from mockpay_core.scenarios.model import ExpectationSpec, Scenario
from mockpay_core.scenarios.plan import Planner
from mockpay_core.scenarios.requests import TABLES as LOG_TABLES
from mockpay_core.scenarios.runner import Client, World, apply_fault
from mockpay_core.scenarios.source import tables_event_log_digest
from mockpay_core.scenarios.target import Target
from mockpay_core.storage.protocol import Tables

Progress = Callable[[int, int, datetime], None]  # done, planned, simulated time
PROGRESS_EVERY = 5_000


@dataclass
class ExpectationResult:
    spec: ExpectationSpec
    actual: Any = None
    passed: bool = False
    error: str | None = None


@dataclass
class RunResult:
    scenario: Scenario
    run_dir: Path
    wall_s: float
    simulated_end: datetime
    event_log_sha256: str
    audit_heads: dict[str, str]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    expectations: list[ExpectationResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(e.passed for e in self.expectations)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return Decimal(str(value))


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip


def compare(actual: Any, op: str, expected: Any) -> bool:
    """Numbers compare as numbers (5 == 5.0); other values by equality, or by order when
    both are strings."""
    a, b = _number(actual), _number(expected)
    if a is not None and b is not None:
        return _OPS[op](a, b)
    if op in ("==", "!=") or (isinstance(actual, str) and isinstance(expected, str)):
        return _OPS[op](actual, expected)
    return False


def check(con: duckdb.DuckDBPyConnection, specs: list[ExpectationSpec]) -> list[ExpectationResult]:
    results = []
    for spec in specs:
        try:
            row = con.execute(spec.sql).fetchone()
        except duckdb.Error as exc:
            results.append(ExpectationResult(spec, error=str(exc).splitlines()[0]))
            continue
        actual = row[0] if row else None
        results.append(ExpectationResult(spec, actual, compare(actual, spec.op, spec.value)))
    return results


def play(world: Target, planner: Planner, client: Client, progress: Progress | None) -> None:
    s = world.scenario
    for phase in s.phases:
        planner.phase(phase)
    for index, step in enumerate(s.steps):
        planner.step(index, step)
    for fault in s.faults:
        if fault.kind != "tamper_audit":
            world.at(world.start + fault.at, functools.partial(apply_fault, world, client, fault))
    done = 0
    while world.agenda:
        when, _, action = heapq.heappop(world.agenda)
        world.advance_to(when)
        action()
        world.changed()
        done += 1
        if progress and done % PROGRESS_EVERY == 0:
            progress(done, planner.planned, world.clock.now())
    world.advance_to(world.clock.now() + s.settle)
    if progress:
        progress(done, planner.planned, world.clock.now())


def run_scenario(
    scenario: Scenario,
    out_dir: Path,
    *,
    memory: bool = False,
    db: str | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Play ``scenario``; its tables land in ``out_dir/<name>/`` (Parquet and run.duckdb).
    ``db`` (``postgresql://...``) plays it on PostgreSQL, in the schema ``run_<name>`` (or
    the URL's ``?schema=``), emptied first; otherwise on SQLite."""
    run_dir = out_dir / scenario.name
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    started = time.perf_counter()
    world = World(scenario, run_dir, memory, db)
    client = Client(world)
    planner = Planner(world, client)
    for rule in scenario.engine.fraud_rules:
        world.engine.create_fraud_rule(rule)
    play(world, planner, client, progress)
    world.log.flush()
    world.flush()
    world.receivers.clear()  # their dedupe sets are in the received table by now
    world.transport.receivers.clear()
    try:
        with world.store.tables() as tables:
            result = _export(world, planner, tables, run_dir, started)
    finally:
        world.dispatcher.close()
        world.log.close()
        world.store.close()
    return result


def _export(
    world: World, planner: Planner, tables: Tables, run_dir: Path, started: float
) -> RunResult:
    """Tamper if asked, verify, then copy every table into DuckDB and Parquet."""
    scenario = world.scenario
    for fault in scenario.faults:
        if fault.kind == "tamper_audit" and fault.sql:
            tables.tamper(fault.sql)
    verification = [
        (t.name, t.id, world.engine.verify_audit(t.id)) for t in planner.tenants.values()
    ]
    heads = {name: tables.audit_head(tid) for name, tid, _ in verification}
    digest = tables_event_log_digest(tables)
    result = RunResult(scenario, run_dir, 0.0, world.clock.now(), digest, heads)

    duck = duckdb.connect(str(run_dir / "run.duckdb"), config=export.DUCKDB_CONFIG)
    try:
        for table in tables.names:
            export.copy_table(tables, table, duck)
        for table in LOG_TABLES:
            export.copy_table(world.log, table, duck)
        report_run(duck, result, verification, started)
    finally:
        duck.close()
    return result


# Each tenant's ledger balances at the end of the run: credits minus debits per account.
BALANCES_SQL = (
    "CREATE TABLE balances AS SELECT tenant_id, currency, account,"
    " sum(CASE WHEN direction = 'credit' THEN amount_minor ELSE -amount_minor END)"
    " AS balance_minor FROM ledger_entries GROUP BY tenant_id, currency, account"
)


def report_run(
    duck: duckdb.DuckDBPyConnection,
    result: RunResult,
    verification: list[tuple[str, str, ChainVerification]],
    started: float,
) -> None:
    """With the run's tables in ``duck``: add ``audit_verification``, ``balances`` and
    ``run_info``, check the expectations, count, and write the Parquet files."""
    scenario = result.scenario
    duck.execute(
        "CREATE TABLE audit_verification (tenant VARCHAR, tenant_id VARCHAR, ok BOOLEAN,"
        " rows_checked BIGINT, broken_seq BIGINT, broken_row_id VARCHAR, reason VARCHAR)"
    )
    duck.executemany(
        "INSERT INTO audit_verification VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(n, tid, v.ok, v.rows_checked, v.broken_seq, v.broken_row_id, v.reason)
         for n, tid, v in verification],
    )  # fmt: skip
    duck.execute(BALANCES_SQL)
    result.wall_s = time.perf_counter() - started
    duck.execute(
        "CREATE TABLE run_info AS SELECT ? AS name, ? AS seed, ? AS simulated_start,"
        " ? AS simulated_end, ? AS wall_s, ? AS event_log_sha256",
        [scenario.name, scenario.seed, scenario.clock.start.replace(tzinfo=None),
         result.simulated_end.replace(tzinfo=None), result.wall_s, result.event_log_sha256],
    )  # fmt: skip
    result.expectations = check(duck, scenario.expectations)
    result.counts = _counts(duck)
    export.write_parquet(duck, result.run_dir)


def _counts(duck: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    def grouped(sql: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in duck.execute(sql).fetchall()}

    return {
        "payments": grouped("SELECT status, count(*) FROM payments GROUP BY 1 ORDER BY 1"),
        "fraud": grouped("SELECT outcome, count(*) FROM fraud_decisions GROUP BY 1 ORDER BY 1"),
        "deliveries": grouped("SELECT status, count(*) FROM deliveries GROUP BY 1 ORDER BY 1"),
        "requests": grouped(
            "SELECT CASE WHEN ok THEN 'ok' ELSE error_code END, count(*) FROM client_requests"
            " GROUP BY 1 ORDER BY 1"
        ),
    }


@dataclass(frozen=True)
class RunTask:
    """One scenario to play in another process (``mockpay run -j N``): plain data."""

    scenario: Scenario
    out_dir: str
    memory: bool = False
    db: str | None = None


def run_task(task: RunTask) -> RunResult:
    return run_scenario(task.scenario, Path(task.out_dir), memory=task.memory, db=task.db)
