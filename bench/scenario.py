"""Scenario throughput next to the engine's create rate, and the 1,000,000-payment scale run.

    .venv/bin/python bench/scenario.py [--n 20000] [--creates 5000] [--scale]

A generated scenario plays ``n`` payments, each created, settled (simulated to success) and
its webhook delivered to a simulated receiver, on an SQLite file and on ``:memory:``; it
prints simulated payments per second (the whole run: play, export to DuckDB and Parquet,
expectations) and the ratio to the engine's bare create rate measured in the same run the
way bench/engine.py measures it (file store, clock +13 s per create, default fraud rules).
Target: ratio >= 0.5. ``--scale`` then runs scenarios/scale/million.yaml in a child process
on the file store and on ``:memory:`` and prints wall time and peak RSS for each.

``--sweep`` plays a 4 x 10 sweep of scenarios/04-card-testing.yaml (the velocity threshold
3, 5, 10, 20 times 10 seeds; ``--sweep-seeds`` changes the 10) in this process (``-j 1``), on
2 local processes and on a Dask LocalCluster of 2 worker processes over TCP on 127.0.0.1, and
prints each wall time and its speed-up against ``-j 1``. Targets: >= 1.6 with 2 processes;
the cluster within 15 % of the 2 local processes.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from mockpay_core import Engine, SeededIds, SimulatedClock
from mockpay_core.scenarios import executor, sweep
from mockpay_core.scenarios.model import Scenario
from mockpay_core.scenarios.run import run_scenario

ROOT = Path(__file__).resolve().parent.parent
SCALE_FILE = ROOT / "scenarios" / "scale" / "million.yaml"
CARD_TESTING = ROOT / "scenarios" / "04-card-testing.yaml"
THRESHOLDS = [3, 5, 10, 20]
RATE_PER_S = 1000  # simulated arrivals per second: large delivery batches, as at scale
TICK_S = 13


def generated(n: int) -> Scenario:
    return Scenario.model_validate({
        "name": "bench", "seed": 5, "engine": {"default_fraud_rules": False},
        "tenants": [{"name": "acme"}],
        "phases": [{
            "name": "steady", "tenant": "acme", "duration": n / RATE_PER_S,
            "arrival": {"kind": "constant", "rate_per_s": RATE_PER_S},
            "outcome": {"success_p": 1.0, "delay": "2s"},
        }],
        "settle": "1h",
        "expectations": [{
            "name": "every payment settled and delivered",
            "sql": "SELECT count(*) FROM deliveries WHERE status = 'delivered'", "value": n,
        }],
    })  # fmt: skip


def scenario_rate(n: int, memory: bool) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        result = run_scenario(generated(n), Path(out), memory=memory)
        elapsed = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(f"the benchmark scenario failed its expectation: {result.expectations}")
    return n / elapsed


def engine_create_rate(n: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        clock = SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC))
        with Engine.open(f"{out}/e.db", clock=clock, ids=SeededIds(5)) as engine:
            tenant = engine.register_tenant("Acme", "dev@acme.test").tenant

            def create(i: int) -> None:
                clock.advance(TICK_S)
                engine.create_payment(
                    tenant.id, amount=49.99, currency="USD", idempotency_key=f"k{i}",
                    webhook_url="http://127.0.0.1:4000/hooks",
                )  # fmt: skip

            for i in range(n // 4):  # warm-up
                create(i)
            started = time.perf_counter()
            for i in range(n // 4, n // 4 + n):
                create(i)
            return n / (time.perf_counter() - started)


def scale_run(memory: bool) -> str:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "mockpay_core.cli", "run", str(SCALE_FILE), "--out", out]
        started = time.perf_counter()
        done = subprocess.run(
            cmd + (["--memory"] if memory else []), capture_output=True, text=True
        )
        wall = time.perf_counter() - started
    rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    verdict = (
        "passed" if done.returncode == 0 else f"FAILED:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    )
    return f"{wall:,.0f} s, peak RSS of the largest child so far {rss_mib:,.0f} MiB, {verdict}"


def sweep_timed(path: Path, out: Path, where: executor.Executor) -> float:
    started = time.perf_counter()
    try:
        sweep.run_sweep(sweep.plan(path, out), where)
    finally:
        where.close()
    return time.perf_counter() - started


def sweep_bench(seeds: int) -> None:
    from distributed import LocalCluster

    block = {"parameters": {"engine.fraud_rules.0.threshold": THRESHOLDS}, "seeds": seeds}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "card-testing-sweep.yaml"
        path.write_text(CARD_TESTING.read_text() + "\nsweep: " + json.dumps(block) + "\n")
        runs = len(THRESHOLDS) * seeds
        one = sweep_timed(path, Path(tmp) / "j1", executor.InProcess())
        two = sweep_timed(path, Path(tmp) / "j2", executor.LocalProcesses(2))
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, protocol="tcp",
            host="127.0.0.1", dashboard_address=None,
        ) as cluster:  # fmt: skip
            on_dask = executor.DaskCluster(cluster.scheduler_address)
            dask = sweep_timed(path, Path(tmp) / "dask", on_dask)
    print(f"sweep of 04-card-testing, {len(THRESHOLDS)} x {seeds} = {runs} runs:")
    print(f"  -j 1 (this process)   {one:7.1f} s")
    print(f"  -j 2 (processes)      {two:7.1f} s  speed-up {one / two:.2f}"
          f"  {'PASS' if one / two >= 1.6 else 'FAIL'} (target >= 1.6)")  # fmt: skip
    print(f"  Dask, 2 workers       {dask:7.1f} s  speed-up {one / dask:.2f}"
          f"  {'PASS' if dask <= two * 1.15 else 'FAIL'} (target within 15 % of -j 2)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="payments in the generated scenario")
    parser.add_argument("--creates", type=int, default=5_000, help="creates for the engine rate")
    parser.add_argument("--scale", action="store_true", help="also run the 1,000,000-payment file")
    parser.add_argument("--sweep", action="store_true", help="only the sweep: -j 1, -j 2, Dask")
    parser.add_argument("--sweep-seeds", type=int, default=10, help="seeds per point (default 10)")
    args = parser.parse_args()
    if args.sweep:
        sweep_bench(args.sweep_seeds)
        return
    print(f"Python {sys.version.split()[0]}; {args.n:,} payments at {RATE_PER_S:,}/s simulated")
    creates = engine_create_rate(args.creates)
    for memory in (False, True):
        rate = scenario_rate(args.n, memory)
        where = "memory" if memory else "file"
        print(
            f"scenario payments/s {where}: {rate:,.0f}  engine creates/s (file) {creates:,.0f}"
            f"  ratio {rate / creates:.2f}"
        )
    if args.scale:
        for memory in (False, True):
            print(f"scale run {'memory' if memory else 'file'}: {scale_run(memory)}", flush=True)


if __name__ == "__main__":
    main()
