"""Sweeps: checked before anything runs, played on processes or a real Dask cluster (the
same dataset), a failing run reported with its point and seed while the others finish."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from mockpay_core import analysis
from mockpay_core.scenarios.executor import DaskCluster, InProcess, LocalProcesses
from mockpay_core.scenarios.sweep import SweepError, plan, run_sweep, t_quantile_975

ROOT = Path(__file__).resolve().parents[2]
HAPPY = ROOT / "scenarios" / "01-happy-path.yaml"
SWEEP = {
    "parameters": {"steps.2.amount": [1000, 2500], "steps.0.currency": ["INR", "USD"]},
    "seeds": 2,
    "metrics": {
        "refunded_minor": "SELECT sum(amount_minor) FROM refunds",
        "payments": "SELECT count(*) FROM payments",
    },
}


def _file(folder: Path, sweep: dict[str, Any], **changes: Any) -> Path:
    data = yaml.safe_load(HAPPY.read_text())
    data.update(changes, sweep=sweep)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _mockpay(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mockpay_core.cli", *args],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )  # fmt: skip


def test_a_sweep_writes_one_row_per_run_and_prints_mean_and_interval(tmp_path: Path) -> None:
    path = _file(tmp_path, SWEEP)
    done = _mockpay(tmp_path, "sweep", str(path), "--out", "out", "-j", "2")
    assert done.returncode == 0, done.stderr
    assert "happy-path: mean [95 % interval] over seeds" in done.stdout
    assert "8 of 8 runs played" in done.stdout
    frame = analysis.sweep(tmp_path / "out" / "happy-path-sweep")
    assert frame.height == 8
    assert frame.columns[:5] == ["point", "steps.2.amount", "steps.0.currency", "seed", "ok"]
    assert frame["seed"].unique().sort().to_list() == [1, 2]  # the file's seed and the next
    # of the 5000 paid, a first refund of 1000 leaves room for the second's 4000; one of
    # 2500 does not (amount_exceeded), so only the first is refunded, and checks fail
    refunded = frame.group_by("steps.2.amount").agg(pl.col("refunded_minor").unique())
    assert dict(refunded.iter_rows()) == {1000: [500_000], 2500: [250_000]}
    assert frame["ok"].to_list() == [True, True, True, True, False, False, False, False]
    with analysis.duckdb_sweep(tmp_path / "out" / "happy-path-sweep") as con:
        assert con.execute("SELECT count(DISTINCT point) FROM runs").fetchone() == (4,)
    run = tmp_path / "out" / "happy-path-sweep" / frame["run_dir"][0]
    assert analysis.table(run, "payments").height == 5  # every run's tables are kept


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ({"parameters": {"steps.40.amount": [1]}}, "sweep.parameters.steps.40.amount: the file"
         " has no steps.40"),
        ({"parameters": {"engine.nonsense": [1]}}, "the file has no engine.nonsense"),
        ({"parameters": {"steps.2.amount": ["lots"]}}, "(steps.2.amount='lots'): steps.2.amount:"),
        ({"parameters": {"steps.2.amount": list(range(1, 200))}, "seeds": 100},
         "199 points x 100 seeds = 19,900 runs, more than the bound of 10,000"),
        ({"seeds": 0}, "sweep.seeds"),
    ],
)  # fmt: skip
def test_a_bad_sweep_is_an_error_naming_the_path_before_anything_runs(
    tmp_path: Path, sweep: dict[str, Any], message: str
) -> None:
    path = _file(tmp_path, sweep)
    done = _mockpay(tmp_path, "sweep", str(path), "--out", "out", "-j", "1")
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()


def test_a_failing_run_is_reported_with_its_point_and_seed_and_the_others_finish(
    tmp_path: Path,
) -> None:
    sweep = {"parameters": {"steps.1.payment": ["p1", "nowhere"]}, "seeds": [7, 8]}
    done = _mockpay(tmp_path, "sweep", str(_file(tmp_path, sweep)), "--out", "out", "-j", "2")
    assert done.returncode == 1
    failures = [line for line in done.stderr.splitlines() if "failed:" in line]
    assert [f.split(" failed:")[0] for f in failures] == [
        "happy-path: point 1 (steps.1.payment='nowhere'), seed 7",
        "happy-path: point 1 (steps.1.payment='nowhere'), seed 8",
    ]
    assert "ScenarioError" in failures[0] and "'nowhere'" in failures[0]
    assert "2 of 4 runs played" in done.stdout
    frame = analysis.sweep(tmp_path / "out" / "happy-path-sweep")
    assert frame.select("point", "seed", "ok").rows() == [
        (0, 7, True), (0, 8, True), (1, 7, False), (1, 8, False)
    ]  # fmt: skip
    assert frame["error"][2].startswith("ScenarioError: steps.1: simulate needs `payment:`")


def _dataset(path: Path) -> pl.DataFrame:
    return pl.read_parquet(path)


def test_a_sweep_on_a_dask_cluster_gives_the_dataset_of_local_processes(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    path = _file(tmp_path, {**SWEEP, "parameters": {"steps.2.amount": [1000, 2500]}})
    local = run_sweep(plan(path, tmp_path / "local"), InProcess())
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, protocol="tcp",
        host="127.0.0.1", dashboard_address=None,
    ) as cluster:  # fmt: skip
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        dask = DaskCluster(cluster.scheduler_address)
        try:
            assert dask.workers == 2
            remote = run_sweep(plan(path, tmp_path / "dask"), dask)
        finally:
            dask.close()
    assert _dataset(remote).equals(_dataset(local))
    assert _dataset(local).height == 4
    processes = LocalProcesses(2)
    try:
        again = run_sweep(plan(path, tmp_path / "processes"), processes)
    finally:
        processes.close()
    assert _dataset(again).equals(_dataset(local))


def test_cluster_flag_with_no_scheduler_is_one_clear_line(tmp_path: Path) -> None:
    from server.testing import free_port

    path = _file(tmp_path, SWEEP)
    done = _mockpay(tmp_path, "sweep", str(path), "--cluster", f"tcp://127.0.0.1:{free_port()}")
    assert done.returncode == 2, done.stderr
    assert "no Dask scheduler at tcp://127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr


T_TABLE = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 9: 2.262, 30: 2.042, 200: 1.972}


@pytest.mark.parametrize(("df", "table"), T_TABLE.items())
def test_t_quantile_matches_the_tables(df: int, table: float) -> None:
    assert t_quantile_975(df) == pytest.approx(table, abs=0.0005)  # the tables have 3 decimals


def test_a_file_without_a_sweep_block_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SweepError, match="no sweep: block"):
        plan(HAPPY, tmp_path)
