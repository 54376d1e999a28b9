"""``mockpay sweep FILE``: plan, play, write the dataset, print a rich table per grid point."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from mockpay_core.scenarios import loader, report
from mockpay_core.scenarios.executor import Executor
from mockpay_core.scenarios.sweep import (
    EXPECT_PREFIX,
    FIXED_COLUMNS,
    Plan,
    SweepError,
    SweepTask,
    interval,
    plan,
    run_sweep,
)


def summary_table(the_plan: Plan, rows: list[dict[str, Any]]) -> Table:
    """Per grid point: its values, runs passed of all, and each metric's mean [95 % CI]."""
    taken = set(FIXED_COLUMNS) | set(the_plan.parameters)
    metrics = [
        c for c in dict.fromkeys(k for r in rows for k in r)
        if c not in taken and not c.startswith(EXPECT_PREFIX)
    ]  # fmt: skip
    table = Table(title=f"{the_plan.name}: mean [95 % interval] over seeds")
    for name in the_plan.parameters:
        table.add_column(name, justify="right")
    table.add_column("passed", justify="right")
    for name in metrics:
        table.add_column(name, justify="right")
    by_point: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_point.setdefault(row["point"], []).append(row)
    for runs in by_point.values():
        cells = [str(runs[0][p]) for p in the_plan.parameters]
        cells.append(f"{sum(bool(r['ok']) for r in runs)}/{len(runs)}")
        for name in metrics:
            found = interval([float(r[name]) for r in runs if _number(r.get(name))])
            cells.append(
                "-" if found is None
                else f"{found.mean:,.4g} [{found.low:,.4g}, {found.high:,.4g}]"
            )  # fmt: skip
        table.add_row(*cells)
    return table


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def main(
    args: argparse.Namespace, executor_of: Callable[[argparse.Namespace], Executor | None]
) -> int:
    try:
        the_plan = plan(args.path, args.out, args.runs_max)
    except (SweepError, loader.ScenarioFileError) as exc:
        print(exc, file=sys.stderr)
        return 2
    executor = executor_of(args)
    if executor is None:
        return 2
    failures: list[str] = []

    def failed(task: SweepTask, error: str) -> None:
        shown = ", ".join(f"{n}={v!r}" for n, v in task.values) or "the file as is"
        line = f"{the_plan.name}: point {task.point} ({shown}), seed {task.seed} failed: {error}"
        failures.append(line)
        print(line, file=sys.stderr, flush=True)

    total = len(the_plan.tasks)
    label = f"{the_plan.points} points x seeds = {total} runs on {executor.workers} workers"
    try:
        with report.Progress() as progress:
            dataset = run_sweep(the_plan, executor, failed, progress.runs(label, total))
    finally:
        executor.close()
    rows = pq.read_table(dataset).to_pylist()
    Console(soft_wrap=True).print(summary_table(the_plan, rows))
    print(f"{total - len(failures)} of {total} runs played; dataset in {Path(dataset)}")
    return 1 if failures else 0
