"""Sweeps: a scenario file's ``sweep:`` block played as a grid of parameter points times seeds.

``plan(path)`` reads the file and checks everything before anything runs: that every
parameter path is in the file, that every point of the grid makes a valid scenario, and that
the grid is not larger than ``runs_max``; each problem names its path. ``run_point`` plays
one (point, seed) and returns one row: the point's values, the seed, every expectation's
actual value, every metric, and the error if the run failed. ``sweep(...)`` plays them all
through an executor (this process, local processes or Dask), and writes the rows, sorted by
point and seed, to ``<out>/<name>-sweep/sweep.parquet`` with each run's tables beside it
under ``runs/``.
"""

from __future__ import annotations

import copy
import itertools
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from mockpay_core.scenarios import loader
from mockpay_core.scenarios.executor import Executor, in_order
from mockpay_core.scenarios.model import Scenario
from mockpay_core.scenarios.run import run_scenario

RUNS_MAX_DEFAULT = 10_000
DATASET = "sweep.parquet"
EXPECT_PREFIX = "expect: "
FIXED_COLUMNS = ("point", "seed", "ok", "error", "run_dir")


class SweepError(ValueError):
    """A sweep that cannot be played as written; ``problems`` has one line per problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


@dataclass(frozen=True)
class SweepTask:
    """One run of a sweep, as plain data shipped to wherever it plays."""

    data: dict[str, Any]  # the scenario file's YAML, without its sweep block
    point: int
    values: tuple[tuple[str, Any], ...]  # (parameter path, value)
    seed: int
    out_dir: str
    metrics: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Plan:
    name: str
    parameters: tuple[str, ...]
    tasks: list[SweepTask]

    @property
    def points(self) -> int:
        return len({t.point for t in self.tasks})


def _key(part: str, node: Any) -> str | int | None:
    """``part`` as a key of ``node`` (a list index for lists); None if it is not there."""
    if isinstance(node, dict):
        return part if part in node else None
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return int(part)
    return None


def apply(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``data`` with the field at ``path`` (dots; list indexes as numbers) set."""
    changed = copy.deepcopy(data)
    node: Any = changed
    parts = path.split(".")
    for depth, part in enumerate(parts):
        key = _key(part, node)
        if key is None:
            where = ".".join(parts[: depth + 1])
            raise KeyError(f"the file has no {where}" if depth else f"the file has no {part}")
        if depth == len(parts) - 1:
            node[key] = value
        else:
            node = node[key]
    return changed


def _seeds(scenario: Scenario) -> list[int]:
    assert scenario.sweep is not None
    seeds = scenario.sweep.seeds
    return list(seeds) if isinstance(seeds, list) else [scenario.seed + k for k in range(seeds)]


def plan(path: str | Path, out_dir: str | Path, runs_max: int = RUNS_MAX_DEFAULT) -> Plan:
    """Every run of the file's sweep, checked; ``SweepError`` names each problem's path."""
    path = Path(path)
    data = loader.read(path)
    scenario = loader.validate(path, data)
    if scenario.sweep is None:
        raise SweepError(path, ["no sweep: block (parameters, seeds, metrics) to play"])
    sweep, base = scenario.sweep, {k: v for k, v in data.items() if k != "sweep"}
    grid = list(itertools.product(*sweep.parameters.values()))
    seeds = _seeds(scenario)
    runs = len(grid) * len(seeds)
    if runs > runs_max:
        raise SweepError(path, [
            f"sweep: {len(grid)} points x {len(seeds)} seeds = {runs:,} runs, more than"
            f" the bound of {runs_max:,} (--runs-max)"
        ])  # fmt: skip
    problems = _check(path, base, sweep.parameters, grid)
    if problems:
        raise SweepError(path, problems)
    names = tuple(sweep.parameters)
    where = str(Path(out_dir) / f"{scenario.name}-sweep")
    metrics = tuple(sweep.metrics.items())
    tasks = [
        SweepTask(base, point, tuple(zip(names, values, strict=True)), seed, where, metrics)
        for point, values in enumerate(grid)
        for seed in seeds
    ]
    return Plan(scenario.name, names, tasks)


def _check(
    path: Path, base: dict[str, Any], parameters: dict[str, list[Any]], grid: list[tuple[Any, ...]]
) -> list[str]:
    problems = []
    for name, choices in parameters.items():
        try:
            apply(base, name, choices[0])
        except KeyError as exc:
            problems.append(f"sweep.parameters.{name}: {exc.args[0]}")
    if problems:
        return problems
    seen: set[str] = set()
    for values in grid:
        data = base
        for name, value in zip(parameters, values, strict=True):
            data = apply(data, name, value)
        try:
            loader.validate(path, data)
        except loader.ScenarioFileError as exc:
            shown = ", ".join(f"{n}={v!r}" for n, v in zip(parameters, values, strict=True))
            for problem in exc.problems:
                line = f"sweep.parameters ({shown}): {problem}"
                if problem not in seen:
                    problems.append(line)
                seen.add(problem)
    return problems


def scenario_of(task: SweepTask) -> Scenario:
    data = task.data
    for name, value in task.values:
        data = apply(data, name, value)
    return Scenario.model_validate({**data, "seed": task.seed})


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def run_point(task: SweepTask) -> dict[str, Any]:
    """Play one point with one seed; its row of the dataset."""
    run_name = f"point-{task.point}-seed-{task.seed}"
    row: dict[str, Any] = {"point": task.point, **dict(task.values), "seed": task.seed}
    scenario = scenario_of(task)
    result = run_scenario(scenario, Path(task.out_dir) / "runs" / run_name)
    row["ok"], row["error"] = result.ok, None
    row["run_dir"] = f"runs/{run_name}/{scenario.name}"
    for e in result.expectations:
        row[EXPECT_PREFIX + e.spec.name] = _plain(e.actual)
    with duckdb.connect(str(result.run_dir / "run.duckdb"), read_only=True) as con:
        for name, sql in task.metrics:
            found = con.execute(sql).fetchone()
            row[name] = _plain(found[0]) if found else None
    return row


def failed_row(task: SweepTask, error: str) -> dict[str, Any]:
    return {"point": task.point, **dict(task.values), "seed": task.seed, "ok": False,
            "error": error, "run_dir": None}  # fmt: skip


def run_sweep(
    the_plan: Plan,
    executor: Executor,
    on_failure: Callable[[SweepTask, str], None] | None = None,
    on_done: Callable[[], None] | None = None,
) -> Path:
    """Play every run of ``the_plan``; a failing run becomes a row with its error (and a
    call of ``on_failure``), the others still finish. The dataset's path."""
    tasks = the_plan.tasks
    rows: list[dict[str, Any]] = []
    for done in in_order(executor.submit(run_point, tasks)):
        if on_done:
            on_done()
        if done.value is not None:
            rows.append(done.value)
            continue
        error = f"{done.error_type}: {done.error}"
        rows.append(failed_row(tasks[done.index], error))
        if on_failure:
            on_failure(tasks[done.index], error)
    out = Path(tasks[0].out_dir) if tasks else Path(".")
    out.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    table = pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows])
    pq.write_table(table, out / DATASET)
    return out / DATASET


def _t_within(t: float, df: int) -> float:
    """P(-t < T < t) for Student's T with ``df`` degrees of freedom: the closed forms for a
    whole ``df`` (Abramowitz & Stegun 26.7.3 and 26.7.4)."""
    theta = math.atan(t / math.sqrt(df))
    c2, term, total = math.cos(theta) ** 2, 1.0, 1.0
    if df % 2 == 0:  # sin(theta) (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...)
        for k in range(1, df // 2):
            term *= c2 * (2 * k - 1) / (2 * k)
            total += term
        return math.sin(theta) * total
    if df == 1:
        return 2 * theta / math.pi
    for k in range(1, (df - 1) // 2):  # cos(theta) (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...)
        term *= c2 * (2 * k) / (2 * k + 1)
        total += term
    return 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)


def t_quantile_975(df: int) -> float:
    """Student's t at 97.5 % with ``df`` degrees of freedom, by bisection on the exact
    distribution (no SciPy needed)."""
    low, high = 0.0, 20.0  # t(0.975, 1) = 12.7 is the largest
    for _ in range(80):
        middle = (low + high) / 2
        low, high = (middle, high) if _t_within(middle, df) < 0.95 else (low, middle)
    return (low + high) / 2


@dataclass(frozen=True)
class Interval:
    """The mean of ``n`` values and its 95 % confidence interval (Student's t)."""

    n: int
    mean: float
    low: float
    high: float


def interval(values: list[float]) -> Interval | None:
    if not values:
        return None
    mean = statistics.fmean(values)
    if len(values) == 1:
        return Interval(1, mean, mean, mean)
    half = t_quantile_975(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return Interval(len(values), mean, mean - half, mean + half)
