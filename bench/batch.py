"""The server's writer without the server: payments created in batches, per database.

    .venv/bin/python bench/batch.py [--batch 8] [--batches 200] [--rounds 5] [--tenants 1]

What ``mockpay serve``'s writer thread does for each batch of creates that arrive together
(``server/calls.py``): ``store.batch(tenants)``, then one ``create_payment`` per request,
each its own unit of work. Here on one thread, no HTTP: the CPU time and the wall time per
create on an SQLite file (the reference) and on PostgreSQL (its own schema, dropped at the
end), rounds alternated between the two; medians of the rounds, and the ratio PostgreSQL /
SQLite of each. The wall time per create, not the CPU, is what bounds one tenant's rate on
PostgreSQL: the batch holds the tenant's row lock from its first statement to its COMMIT.
Also counted: statements and round trips (waits for an answer) per create on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from typing import Any

from mockpay_core import Engine
from mockpay_core.storage.open import open_store

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA = "bench_batch"
AMOUNT = 49.99
URL = "http://127.0.0.1:4000/hooks"
WARMUP_BATCHES = 20


@dataclass
class Side:
    name: str
    engine: Engine
    tenants: list[str]
    cpu_ms: list[float]
    wall_ms: list[float]


def open_side(name: str, db: str, tenants: int) -> Side:
    store = open_store(db, reset=True)
    engine = Engine(store)
    ids = [
        engine.register_tenant(f"Bench {i}", f"bench{i}@example.test").tenant.id
        for i in range(tenants)
    ]
    return Side(name, engine, ids, [], [])


def run_round(side: Side, keys: Iterator[int], batch: int, batches: int) -> None:
    """``batches`` batches of ``batch`` creates, tenants taken in turn."""
    engine, tenants = side.engine, side.tenants
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for b in range(batches):
        chosen = [tenants[(b * batch + i) % len(tenants)] for i in range(batch)]
        with engine.store.batch(set(chosen)):
            for tenant_id in chosen:
                engine.create_payment(
                    tenant_id, amount=AMOUNT, currency="USD", webhook_url=URL,
                    idempotency_key=f"k{next(keys)}",
                )  # fmt: skip
    creates = batch * batches
    side.cpu_ms.append(1000 * (time.process_time() - cpu0) / creates)
    side.wall_ms.append(1000 * (time.perf_counter() - wall0) / creates)


@contextmanager
def counting_postgres() -> Iterator[dict[str, int]]:
    """Statements sent and answers waited for, by psycopg's connection and pipeline (a
    statement outside a pipeline is one wait)."""
    import psycopg

    seen = {"statements": 0, "waits": 0}
    execute, sync = psycopg.Cursor.execute, psycopg.Pipeline.sync
    fetch = psycopg.Cursor._fetch_pipeline  # waits for the cursor's own answer
    leave = psycopg.Pipeline.__exit__  # waits for every answer still out (the COMMIT's)

    def counted_execute(self: Any, *a: Any, **kw: Any) -> Any:
        seen["statements"] += 1
        if self._conn._pipeline is None:  # outside a pipeline every statement is waited for
            seen["waits"] += 1
        return execute(self, *a, **kw)

    def counted_sync(self: Any) -> None:
        seen["waits"] += 1
        sync(self)

    def counted_fetch(self: Any) -> None:
        if self._conn._pipeline and self.pgresult is None:
            seen["waits"] += 1
        fetch(self)

    def counted_leave(self: Any, *exc: Any) -> None:
        seen["waits"] += 1
        leave(self, *exc)

    psycopg.Cursor.execute, psycopg.Pipeline.sync = counted_execute, counted_sync  # type: ignore[method-assign]
    psycopg.Cursor._fetch_pipeline = counted_fetch  # type: ignore[method-assign]
    psycopg.Pipeline.__exit__ = counted_leave  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        psycopg.Cursor.execute, psycopg.Pipeline.sync = execute, sync  # type: ignore[method-assign]
        psycopg.Cursor._fetch_pipeline = fetch  # type: ignore[method-assign]
        psycopg.Pipeline.__exit__ = leave  # type: ignore[method-assign]


def per_create_counts(side: Side, keys: Iterator[int], batch: int) -> dict[str, float]:
    batches = 10
    with counting_postgres() as seen:
        run_round(side, keys, batch, batches)
    side.cpu_ms.pop(), side.wall_ms.pop()  # counted, not timed
    return {k: v / (batch * batches) for k, v in seen.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=8, help="creates per batch (default 8)")
    parser.add_argument("--batches", type=int, default=200, help="batches per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds (median)")
    parser.add_argument("--tenants", type=int, default=1, help="tenants, taken in turn")
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args(argv)
    for name in ("batch", "batches", "rounds", "tenants"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} is at least 1")
    url = args.postgres_url or os.environ.get("MOCKPAY_TEST_POSTGRES_URL") or DEFAULT_URL
    keys = count()
    with tempfile.TemporaryDirectory() as folder:
        sides = [
            open_side("sqlite", os.path.join(folder, "bench.db"), args.tenants),
            open_side("postgres", f"{url}?schema={SCHEMA}", args.tenants),
        ]
        try:
            for side in sides:
                run_round(side, keys, args.batch, WARMUP_BATCHES)
                side.cpu_ms.clear(), side.wall_ms.clear()
            counts = per_create_counts(sides[1], keys, args.batch)
            for _ in range(args.rounds):
                for side in sides:
                    run_round(side, keys, args.batch, args.batches)
            report(sides, counts, args)
        finally:
            for side in sides:
                drop: Callable[[], None] | None = getattr(side.engine.store, "drop_schema", None)
                if drop is not None:
                    drop()
                side.engine.close()
    return 0


def report(sides: list[Side], counts: dict[str, float], args: argparse.Namespace) -> None:
    print(
        f"creates in batches of {args.batch}, {args.tenants} tenant(s), one thread,"
        f" medians of {args.rounds} alternated rounds of {args.batch * args.batches}"
    )
    print(f"{'store':10} {'CPU ms/create':>14} {'wall ms/create':>15} {'creates/s':>10}")
    med = {s.name: (statistics.median(s.cpu_ms), statistics.median(s.wall_ms)) for s in sides}
    for name, (cpu, wall) in med.items():
        print(f"{name:10} {cpu:14.3f} {wall:15.3f} {1000 / wall:10,.0f}")
    (sc, sw), (pc, pw) = med["sqlite"], med["postgres"]
    print(f"ratio postgres/sqlite: CPU {pc / sc:.2f}x, wall {pw / sw:.2f}x")
    print(
        f"postgres per create: {counts['statements']:.1f} statements,"
        f" {counts['waits']:.1f} waits for an answer"
    )


if __name__ == "__main__":
    sys.exit(main())
