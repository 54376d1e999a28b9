"""Scenario throughput next to the engine's create rate, and the 1,000,000-payment scale run.

    .venv/bin/python bench/scenario.py [--n 20000] [--creates 5000] [--scale]

A generated scenario plays ``n`` payments, each created, settled (simulated to success) and
its webhook delivered to a simulated receiver, on an SQLite file and on ``:memory:``; it
prints simulated payments per second (the whole run: play, export to DuckDB and Parquet,
expectations) and the ratio to the engine's bare create rate measured in the same run the
way bench/engine.py measures it (file store, clock +13 s per create, default fraud rules).
Target: ratio >= 0.5. ``--scale`` then runs scenarios/scale/million.yaml in a child process
on the file store and on ``:memory:`` and prints wall time and peak RSS for each.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from mockpay_core import Engine, SeededIds, SimulatedClock
from mockpay_core.scenarios.model import Scenario
from mockpay_core.scenarios.run import run_scenario

ROOT = Path(__file__).resolve().parent.parent
SCALE_FILE = ROOT / "scenarios" / "scale" / "million.yaml"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="payments in the generated scenario")
    parser.add_argument("--creates", type=int, default=5_000, help="creates for the engine rate")
    parser.add_argument("--scale", action="store_true", help="also run the 1,000,000-payment file")
    args = parser.parse_args()
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
