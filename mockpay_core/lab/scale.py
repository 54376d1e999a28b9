"""A lean bulk run for the scale notebook, and a timer for queries.

``bulk_run`` drives the engine directly (no scenario agenda, no webhook delivery, no client
log): each payment is created with its idempotency key and settled, both through the
engine's commands, at Poisson arrivals on a simulated clock; amounts, currencies, customers
and outcomes come from one seeded RNG. The engine runs on an in-memory SQLite database;
``payments`` and ``audit_log`` are then exported to ``run.duckdb`` and Parquet like a
scenario run's. That is about four times faster than a
full scenario (which also delivers every webhook), enough for 100,000+ payments in a
notebook.
"""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final, TypeVar

import duckdb
import polars as pl

from mockpay_core.clock import SimulatedClock
from mockpay_core.config import EngineConfig
from mockpay_core.domain.money import format_major
from mockpay_core.engine import Engine
from mockpay_core.ids import SeededIds
from mockpay_core.scenarios import export
from mockpay_core.storage.open import open_store

T = TypeVar("T")
START: Final = datetime(2026, 1, 1, tzinfo=UTC)
PAYMENTS_MAX: Final = 2_000_000
CURRENCIES: Final = ("USD", "EUR", "JPY")
CURRENCY_WEIGHTS: Final = (0.6, 0.3, 0.1)
EXPORTED: Final = ("payments", "audit_log")
HOOK: Final = "http://bulk.receiver.test/webhooks"


def _amount_minor(rng: random.Random, currency: str) -> int:
    major = min(max(rng.lognormvariate(3.7, 0.8), 1.0), 50_000.0)  # median ~40
    return round(major) if currency == "JPY" else round(major * 100)


def bulk_run(
    out_dir: str | Path,
    payments: int = 100_000,
    *,
    days: float = 7.0,
    customers: int = 20_000,
    success_p: float = 0.92,
    seed: int = 0,
) -> Path:
    """Create and settle ``payments`` payments over ``days`` simulated days; the run's
    tables land in ``out_dir/bulk/``."""
    if not 1 <= payments <= PAYMENTS_MAX:
        raise ValueError(f"payments must be 1..{PAYMENTS_MAX:,}")
    run_dir = Path(out_dir) / "bulk"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    rng, clock = random.Random(seed), SimulatedClock(START)
    mean_gap_s = days * 86400 / payments
    store = open_store(":memory:", simulation=True)
    config = EngineConfig(seed_default_fraud_rules=False)
    with Engine(store, clock=clock, ids=SeededIds(seed), config=config) as engine:
        tenant = engine.register_tenant("Bulk", "bulk@shop.test").tenant.id
        for i in range(payments):
            clock.advance(timedelta(seconds=rng.expovariate(1 / mean_gap_s)))
            currency = rng.choices(CURRENCIES, CURRENCY_WEIGHTS)[0]
            amount = Decimal(format_major(_amount_minor(rng, currency), currency))
            pay = engine.create_payment(
                tenant, amount=amount, currency=currency, webhook_url=HOOK,
                idempotency_key=f"bulk-{i}", customer=f"cus_{rng.randrange(customers)}",
            ).value  # fmt: skip
            status = "success" if rng.random() < success_p else "failed"
            engine.simulate(tenant, pay.id, status)
        duck = duckdb.connect(str(run_dir / "run.duckdb"), config=export.DUCKDB_CONFIG)
        try:
            with store.tables() as tables:
                for table in EXPORTED:
                    export.copy_table(tables, table, duck)
            export.write_parquet(duck, run_dir)
        finally:
            duck.close()
    return run_dir


def timed(fn: Callable[[], T], repeat: int = 3) -> tuple[T, float]:
    """``fn()``'s result and its best wall time of ``repeat`` runs, in milliseconds."""
    best_s = float("inf")
    result: T
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        result = fn()
        best_s = min(best_s, time.perf_counter() - started)
    return result, best_s * 1000


def same_answer(duck: pl.DataFrame, polars: pl.DataFrame) -> bool:
    """Do DuckDB's and Polars' answers to one question agree, row for row? DuckDB's columns
    take Polars' names and types first (``count(*)`` is BIGINT, ``pl.len()`` UInt32)."""
    if duck.shape != polars.shape:
        return False
    renamed = duck.rename(dict(zip(duck.columns, polars.columns, strict=True)))
    return renamed.cast(polars.schema).equals(polars)
