"""The library's recorded digests: every scenario on PostgreSQL, and all of them on SQLite
played by ``-j 2`` processes, give what ``tests/scenarios/digests.py record`` wrote one
after another. (Their expectations are checked as pytest items by the scenario plugin:
``scenarios`` is in the suite's testpaths.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from mockpay_core.scenarios.executor import LocalProcesses, in_order
from mockpay_core.scenarios.loader import discover, load
from mockpay_core.scenarios.run import RunResult, RunTask, run_scenario, run_task
from tests.scenarios import digests

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
FILES = discover(LIBRARY)


def _check(result: RunResult, store: str, stem: str) -> None:
    failed = [
        f"{e.spec.name}: expected {e.spec.op} {e.spec.value!r}, got {e.error or repr(e.actual)}"
        for e in result.expectations
        if not e.passed
    ]
    assert not failed, "\n".join(failed)
    assert result.expectations, "a scenario in the library must check something"
    assert digests.fingerprint(result) == digests.recorded(store, stem), (
        f"{stem} on {store} no longer gives the recorded event log, audit heads and"
        " tables (tests/scenarios/digests.json): a refactor changed behaviour"
    )


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario_on_postgres_gives_the_recorded_digests(
    path: Path, tmp_path: Path, postgres_schema: tuple[str, str]
) -> None:
    url, schema = postgres_schema
    _check(run_scenario(load(path), tmp_path, db=f"{url}?schema={schema}"), "postgres", path.stem)


def test_the_library_on_two_processes_gives_the_recorded_sqlite_digests(tmp_path: Path) -> None:
    tasks = [RunTask(load(p), str(tmp_path)) for p in FILES]
    pool = LocalProcesses(2)
    try:
        done = list(in_order(pool.submit(run_task, tasks)))
    finally:
        pool.close()
    assert [d.index for d in done] == list(range(len(FILES)))
    for path, d in zip(FILES, done, strict=True):
        assert d.error is None, f"{path.stem}: {d.error_type}: {d.error}"
        assert d.value is not None
        _check(d.value, "sqlite", path.stem)


def test_the_library_is_there() -> None:
    assert len(FILES) >= 1
    names = [load(p).name for p in FILES]
    assert len(names) == len(set(names))
