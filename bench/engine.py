"""Engine throughput next to a raw-SQL floor, and peak memory after many creates.

    .venv/bin/python bench/engine.py [--n 2000] [--repeats 3] [--rss-n 100000] [--profile]

Single-threaded, on an SQLite file (WAL, synchronous=NORMAL, in a temp dir) and on
``:memory:``, it measures payments created per second and full lifecycles per second
(create, simulate success, two partial refunds) through ``Engine``, with the ledger off and
(``lifecycle+ledger``) on, and beside each a raw baseline: stdlib sqlite3 executing the very
statements the engine executes (checked at start-up against a trace of the engine), with
parameters computed before the clock starts.
Both sides checkpoint the WAL as the store does: on a thread of their own, not in COMMITs.
``ratio`` is engine / raw: the share of the database's own speed the engine keeps.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count, zip_longest
from typing import Any

from mockpay_core import Engine, SeededIds, SimulatedClock
from mockpay_core.config import EngineConfig, LedgerConfig
from mockpay_core.domain.fees import DEFAULT as DEFAULT_FEES
from mockpay_core.storage.sqlite import SqliteStore
from mockpay_core.storage.sqlite.checkpoints import BACKSTOP_PAGES, CHECK_EVERY_S
from mockpay_core.storage.sqlite.dialect import SQL

# The clock is a SimulatedClock moved TICK_S forward before each create. That keeps the
# comparison fair: the default velocity rule (5 payments per 60 s) never fires, so every
# payment is allowed and both sides run the same statements on the same rows, and the
# fraud-window count always sees the same 4 earlier payments. With a SystemClock, at
# thousands of creates a second, all but 5 payments a minute would be flagged (and a
# flagged payment cannot be simulated to success), and the window's size would depend on
# the machine's speed. Seeded ids make every run create the same rows.
TICK_S = 13
START = datetime(2026, 1, 1, tzinfo=UTC)
SEED = 7
AMOUNT, AMOUNT_MINOR = 49.99, 4999
REFUNDS = ((10.00, 1000), (5.00, 500))
URL = "http://127.0.0.1:4000/hooks"
GENESIS = "0" * 64
BUSY_TIMEOUT_S = 5.0
WARMUP_FRACTION = 4  # warm up on n / WARMUP_FRACTION operations, at least WARMUP_MIN
WARMUP_MIN = 200

# What the engine's SQLite adapter executes: its own rendered statements (the start-up check
# compares a trace of both sides), the velocity window's as the writer builds it.
SQL_GET_KEY = SQL.get_idempotency
SQL_TENANT = SQL.lock_tenant
SQL_RULES = SQL.active_rules
SQL_WINDOW = (
    "SELECT count(*) FROM (SELECT 1 FROM payments WHERE tenant_id = ? AND created_at > ?"
    " AND status <> 'flagged'"
    " AND coalesce(failure_code, '') NOT IN ('fraud_blocked', 'fraud_rejected') LIMIT ?) AS w"
)
VELOCITY_THRESHOLD = 5  # the default velocity rule's: its count stops there
SQL_INSERT_PAYMENT = SQL.insert_payment
SQL_AUDIT_HEAD = SQL.audit_head
SQL_INSERT_AUDIT = SQL.insert_audit
SQL_INSERT_DECISION = SQL.insert_decision
SQL_PUT_KEY = SQL.put_idempotency
SQL_GET_PAYMENT = SQL.get_payment
SQL_UPDATE_PAYMENT = SQL.update_payment
SQL_INSERT_REFUND = SQL.insert_refund
SQL_INSERT_EVENT = SQL.insert_event
SQL_INSERT_DELIVERY = SQL.insert_delivery
SQL_FEE_SCHEDULE = SQL.ledger.fee_schedule
SQL_LEDGER_HEAD = SQL.ledger.head
SQL_INSERT_FEE = SQL.ledger.insert_fee
SQL_INSERT_ENTRIES = {rows: SQL.ledger.insert_entries(rows) for rows in (2, 3)}
FEE_MINOR = DEFAULT_FEES.fee_minor(AMOUNT_MINOR)


# The engine side


@dataclass(frozen=True, slots=True)
class Opened:
    engine: Engine
    store: SqliteStore
    clock: SimulatedClock
    tenant_id: str


def open_engine(db: str, ledger: bool = False) -> Opened:
    """An engine with the default config (and so the original's two fraud rules), its
    ledger off unless ``ledger``."""
    store, clock = SqliteStore(db), SimulatedClock(START)
    config = EngineConfig(ledger=LedgerConfig(enabled=ledger))
    engine = Engine(store, clock=clock, ids=SeededIds(SEED), config=config)
    tenant_id = engine.register_tenant("Bench", "bench@example.test").tenant.id
    return Opened(engine, store, clock, tenant_id)


def engine_create(o: Opened, key: str) -> str:
    o.clock.advance(TICK_S)
    outcome = o.engine.create_payment(
        o.tenant_id, amount=AMOUNT, currency="USD", webhook_url=URL, idempotency_key=key
    )
    return outcome.value.id


def engine_lifecycle(o: Opened, key: str) -> str:
    payment_id = engine_create(o, key)
    o.engine.simulate(o.tenant_id, payment_id, "success")
    for amount, _ in REFUNDS:
        o.engine.refund(o.tenant_id, payment_id, amount)
    return payment_id


def run_engine(db: str, lifecycle: bool, warmup: int, n: int, ledger: bool) -> float:
    """Operations per second over ``n`` operations after ``warmup`` on a fresh database."""
    opened = open_engine(db, ledger)
    op = engine_lifecycle if lifecycle else engine_create
    keys = [f"bench-{i}" for i in range(warmup + n)]
    try:
        for key in keys[:warmup]:
            op(opened, key)
        started = time.perf_counter()
        for key in keys[warmup:]:
            op(opened, key)
        return n / (time.perf_counter() - started)
    finally:
        opened.engine.close()


# The raw side


@dataclass(frozen=True, slots=True)
class Audit:
    head: tuple[Any, ...]  # id, tenant_id, payment_id
    body: tuple[Any, ...]  # old_status ... created_at
    hash: str


@dataclass(frozen=True, slots=True)
class Step:
    """One command after create, as the rows it writes."""

    refund: tuple[Any, ...] | None
    update: tuple[Any, ...]
    audit: Audit
    event: tuple[Any, ...]
    delivery: tuple[Any, ...]
    entries: tuple[tuple[tuple[Any, ...], str], ...]  # (row but seq and prev_hash, hash)
    fee: tuple[Any, ...] | None


@dataclass(frozen=True, slots=True)
class RawOp:
    """One lifecycle's statements' parameters, precomputed."""

    key: str
    payment_id: str
    savepoint: str
    release: str
    since: str
    payment: tuple[Any, ...]
    audit: Audit
    decision: tuple[Any, ...]
    key_row: tuple[Any, ...]
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Texts:
    """JSON texts as the engine writes them, read from a sample lifecycle."""

    response: str
    evaluated: str
    audit_metadata: tuple[str, ...]  # create, simulate, refund, refund
    payloads: tuple[str, ...]  # simulate, refund, refund


class RawIds:
    """Random ids and hashes of the engine's shapes, drawn before the clock starts."""

    def __init__(self) -> None:
        self._rng = random.Random(SEED)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def digest(self) -> str:
        return f"{self._rng.getrandbits(256):064x}"


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="microseconds")


def raw_steps(ids: RawIds, tenant_id: str, pid: str, ts: str, texts: Texts) -> tuple[Step, ...]:
    """simulate success, then each partial refund: the rows each one writes."""
    steps = []
    before, refunded = "pending", 0
    for i, refund_minor in enumerate((0, *(minor for _, minor in REFUNDS))):
        refund, status = None, "success"
        if refund_minor:
            refunded += refund_minor
            refund = (ids.uuid(), pid, tenant_id, refund_minor, "USD", None, ts)
            status = "partially_refunded"
        action, by = ("refund", "refund_api") if refund else ("succeed", "simulate_api")
        update = (
            status, ts, AMOUNT_MINOR, refunded, 0, None, None,
            ts if refund else None, None, None, "{}", None, None, pid, tenant_id,
        )  # fmt: skip
        body = (before, status, action, by, texts.audit_metadata[i + 1], ts)
        event_type = "payment.refunded" if refund else "payment.success"
        audit = Audit((ids.uuid(), tenant_id, pid), body, ids.digest())
        event = (ids.uuid(), tenant_id, pid, event_type, texts.payloads[i], ts, None)
        delivery = (event[0], tenant_id, pid, "pending", ts, ts)
        entries, fee = raw_entries(ids, tenant_id, pid, refund, ts)
        steps.append(Step(refund, update, audit, event, delivery, entries, fee))
        before = status
    return tuple(steps)


def raw_entries(
    ids: RawIds, tenant_id: str, pid: str, refund: tuple[Any, ...] | None, ts: str
) -> tuple[tuple[tuple[tuple[Any, ...], str], ...], tuple[Any, ...] | None]:
    """A capture's three entries and its fee, or a refund's two entries."""
    settles = _iso(datetime.fromisoformat(ts) + timedelta(days=2))
    if refund is None:
        txn, legs = f"capture:{pid}", (("network", "debit", AMOUNT_MINOR, None),
            ("pending", "credit", AMOUNT_MINOR - FEE_MINOR, settles),
            ("fees", "credit", FEE_MINOR, None))  # fmt: skip
        fee = (txn, tenant_id, pid, "capture", "USD", FEE_MINOR, ts)
    else:
        txn, legs = f"refund:{refund[0]}", (("available", "debit", refund[3], None),
                                            ("network", "credit", refund[3], None))  # fmt: skip
        fee = None
    kind, source = txn.split(":")
    rows = tuple(
        ((f"{txn}/{n}", tenant_id, txn, kind, source, pid, account, "USD", side, minor, on, ts),
         ids.digest())
        for n, (account, side, minor, on) in enumerate(legs, 1)
    )  # fmt: skip
    return rows, fee


def raw_ops(tenant_id: str, total: int, texts: Texts) -> list[RawOp]:
    """Every statement's parameters for ``total`` lifecycles, one TICK_S apart."""
    ids, ops = RawIds(), []
    for i in range(total):
        now = START + timedelta(seconds=TICK_S * (i + 1))
        ts, pid, key = _iso(now), ids.uuid(), f"bench-{i}"
        payment = (
            pid, tenant_id, AMOUNT_MINOR, "USD", "pending", "automatic", URL, key, ts, ts,
            0, 0, 0, None, None, "{}", None, None, None, None, None, None,
        )  # fmt: skip
        create = (None, "pending", "create", "create_api", texts.audit_metadata[0], ts)
        key_row = (
            tenant_id, key, "create_payment", ids.digest(), 1, texts.response, ts,
            _iso(now + timedelta(days=1)),
        )  # fmt: skip
        ops.append(
            RawOp(
                key=key,
                payment_id=pid,
                savepoint="SAVEPOINT sp1",
                release="RELEASE SAVEPOINT sp1",
                since=_iso(now - timedelta(seconds=60)),
                payment=payment,
                audit=Audit((ids.uuid(), tenant_id, pid), create, ids.digest()),
                decision=(ids.uuid(), pid, tenant_id, "allow", texts.evaluated, ts),
                key_row=key_row,
                steps=raw_steps(ids, tenant_id, pid, ts, texts),
            )
        )
    return ops


def raw_audit(ex: Callable[..., sqlite3.Cursor], tenant_id: str, a: Audit) -> None:
    head = ex(SQL_AUDIT_HEAD, (tenant_id,)).fetchone()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    ex(SQL_INSERT_AUDIT, (*a.head, seq, *a.body, prev, a.hash))


def raw_create(ex: Callable[..., sqlite3.Cursor], tenant_id: str, op: RawOp) -> None:
    ex("BEGIN IMMEDIATE")
    ex(SQL_TENANT, (tenant_id,)).fetchone()
    ex(SQL_GET_KEY, (tenant_id, op.key)).fetchone()
    ex(op.savepoint)
    ex(SQL_RULES, (tenant_id,)).fetchall()
    ex(SQL_WINDOW, (tenant_id, op.since, VELOCITY_THRESHOLD)).fetchone()
    ex(SQL_INSERT_PAYMENT, op.payment)
    raw_audit(ex, tenant_id, op.audit)
    ex(SQL_INSERT_DECISION, op.decision)
    ex(op.release)
    ex(SQL_PUT_KEY, op.key_row)
    ex("COMMIT")


def raw_ledger(ex: Callable[..., sqlite3.Cursor], tenant_id: str, step: Step) -> None:
    ex(SQL_FEE_SCHEDULE, (tenant_id, "USD")).fetchone()
    head = ex(SQL_LEDGER_HEAD, (tenant_id,)).fetchone()
    seq, prev = (head[0], head[1]) if head else (0, GENESIS)
    params: list[Any] = []
    for row, entry_hash in step.entries:
        seq += 1
        params += (*row[:2], seq, *row[2:], prev, entry_hash)
        prev = entry_hash
    ex(SQL_INSERT_ENTRIES[len(step.entries)], params)
    if step.fee is not None:
        ex(SQL_INSERT_FEE, step.fee)


def raw_lifecycle(
    ex: Callable[..., sqlite3.Cursor], tenant_id: str, op: RawOp, ledger: bool = False
) -> None:
    raw_create(ex, tenant_id, op)
    for step in op.steps:
        ex("BEGIN IMMEDIATE")
        ex(SQL_TENANT, (tenant_id,)).fetchone()
        ex(SQL_GET_PAYMENT, (op.payment_id, tenant_id)).fetchone()
        if step.refund is not None:
            ex(SQL_INSERT_REFUND, step.refund)
        ex(SQL_UPDATE_PAYMENT, step.update)
        raw_audit(ex, tenant_id, step.audit)
        if ledger:
            raw_ledger(ex, tenant_id, step)
        ex(SQL_INSERT_EVENT, step.event)
        ex(SQL_INSERT_DELIVERY, step.delivery)
        ex("COMMIT")


def open_raw(db: str) -> tuple[sqlite3.Connection, Opened]:
    """The schema, rules and tenant made through the engine's SqliteStore; then a connection
    of our own with the store's pragmas (on ``:memory:`` the store's own connection, as a
    second one would open another, empty database)."""
    opened = open_engine(db)
    if db == ":memory:":
        return opened.store.raw_connection(), opened
    opened.engine.close()
    conn = sqlite3.connect(db, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    for pragma in (
        "journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
        f"wal_autocheckpoint={BACKSTOP_PAGES}",
    ):  # fmt: skip
        conn.execute(f"PRAGMA {pragma}")
    return conn, opened


@contextmanager
def checkpointing(db: str) -> Iterator[None]:
    """The store's WAL checkpoints for the raw connection too: PASSIVE, every
    ``CHECK_EVERY_S``, on a thread and a connection of their own (as SqliteStore's
    ``Checkpointer`` does), so that neither side pays for them inside its COMMITs."""
    if db == ":memory:":
        yield
        return
    stop = threading.Event()
    conn = sqlite3.connect(db, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                           check_same_thread=False)  # fmt: skip

    def loop() -> None:
        while not stop.wait(CHECK_EVERY_S):
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        conn.close()


def run_raw(db: str, lifecycle: bool, warmup: int, n: int, texts: Texts, ledger: bool) -> float:
    conn, opened = open_raw(db)
    ops = raw_ops(opened.tenant_id, warmup + n, texts)
    ex, tenant_id = conn.execute, opened.tenant_id

    def op(o: RawOp) -> None:
        if lifecycle:
            raw_lifecycle(ex, tenant_id, o, ledger)
        else:
            raw_create(ex, tenant_id, o)

    try:
        with checkpointing(db):
            for o in ops[:warmup]:
                op(o)
            started = time.perf_counter()
            for o in ops[warmup:]:
                op(o)
            return n / (time.perf_counter() - started)
    finally:
        conn.close()
        opened.engine.close()


# The start-up check: the same statements, and the engine's JSON texts


def _shape(sql: str) -> str:
    return re.sub(r"\d+", "?", re.sub(r"'(?:[^']|'')*'", "?", sql))


def engine_texts(conn: sqlite3.Connection) -> Texts:
    def column(sql: str) -> tuple[str, ...]:
        return tuple(row[0] for row in conn.execute(sql))

    return Texts(
        column("SELECT response FROM idempotency_keys")[0],
        column("SELECT evaluated FROM fraud_decisions")[0],
        column("SELECT metadata FROM audit_log ORDER BY seq"),
        column("SELECT payload FROM events ORDER BY rowid"),
    )


def check_same_sql(ledger: bool = False) -> tuple[Texts, int]:
    """Trace one lifecycle through each side; exit if their statements differ."""
    opened = open_engine(":memory:", ledger)
    conn = opened.store.raw_connection()
    traced: list[str] = []
    conn.set_trace_callback(traced.append)
    engine_lifecycle(opened, "bench-0")
    conn.set_trace_callback(None)
    texts = engine_texts(conn)
    opened.engine.close()

    raw, raw_opened = open_raw(":memory:")
    raw_traced: list[str] = []
    raw.set_trace_callback(raw_traced.append)
    op = raw_ops(raw_opened.tenant_id, 1, texts)[0]
    raw_lifecycle(raw.execute, raw_opened.tenant_id, op, ledger)
    raw_opened.engine.close()
    theirs, ours = [_shape(s) for s in traced], [_shape(s) for s in raw_traced]
    if ours != theirs:
        e, r = next((e, r) for e, r in zip_longest(theirs, ours, fillvalue="-") if e != r)
        sys.exit(
            f"The raw baseline no longer runs the engine's SQL ({len(theirs)} statements in"
            f" the engine, {len(ours)} in the baseline); the first difference:"
            f"\n  engine: {e}\n  raw:    {r}"
        )
    return texts, len(traced)


# Measuring and printing


def measure(
    label: str, lifecycle: bool, db: str, args: argparse.Namespace, texts: Texts, tmp: str,
    ledger: bool = False,
) -> None:  # fmt: skip
    """Engine and raw runs interleaved, each on a fresh database; the best of each (other
    load on the machine only ever slows a run down, as timeit's docs argue) and their ratio."""
    warmup = max(WARMUP_MIN, args.n // WARMUP_FRACTION)
    paths = (os.path.join(tmp, f"{label}-{i}.db") for i in count())

    def fresh() -> str:
        return db if db == ":memory:" else next(paths)

    engine_rates, raw_rates = [], []
    for _ in range(args.repeats):
        engine_rates.append(run_engine(fresh(), lifecycle, warmup, args.n, ledger))
        raw_rates.append(run_raw(fresh(), lifecycle, warmup, args.n, texts, ledger))
    e, r = max(engine_rates), max(raw_rates)
    print(
        f"{label}/s {'memory' if db == ':memory:' else 'file'}: engine {e:,.0f}  raw {r:,.0f}"
        f"  ratio {e / r:.2f}   (best of {args.repeats}; spread engine"
        f" {_spread(engine_rates):.0%}, raw {_spread(raw_rates):.0%})",
        flush=True,
    )


def _spread(rates: list[float]) -> float:
    return (max(rates) - min(rates)) / statistics.median(rates)


def maxrss_mib() -> float:
    """This process's peak resident set size: KiB on Linux, bytes on macOS."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def rss_child(n: int, db_kind: str) -> None:
    """In a fresh interpreter: peak RSS after opening the engine, and after ``n`` creates."""
    with tempfile.TemporaryDirectory() as tmp:
        db = ":memory:" if db_kind == "memory" else os.path.join(tmp, "rss.db")
        opened = open_engine(db)
        engine_create(opened, "rss-warm")
        at_open_mib = maxrss_mib()
        for i in range(n):
            engine_create(opened, f"rss-{i}")
        print(json.dumps({"opened_mib": at_open_mib, "peak_mib": maxrss_mib()}))
        opened.engine.close()


def measure_rss(args: argparse.Namespace) -> None:
    """Run first, while this process is small: Linux carries the parent's peak RSS into a
    child's ru_maxrss across fork and exec, so a big parent would inflate the figure."""
    argv = [sys.executable, __file__, "--rss-child", str(args.rss_n), "--rss-db", args.rss_db]
    started = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    took_s = time.perf_counter() - started
    rss = json.loads(out)
    print(
        f"peak RSS after {args.rss_n:,} engine creates ({args.rss_db} db, fresh subprocess):"
        f" {rss['peak_mib']:,.1f} MiB   ({rss['opened_mib']:,.1f} MiB after opening;"
        f" {took_s:.0f} s)"
    )


def profile_create(args: argparse.Namespace) -> None:
    """cProfile of ``n`` engine creates on ``:memory:`` after a warm-up: top 15 cumulative."""
    opened = open_engine(":memory:")
    for i in range(WARMUP_MIN):
        engine_create(opened, f"warm-{i}")
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(args.n):
        engine_create(opened, f"prof-{i}")
    profiler.disable()
    opened.engine.close()
    print(f"\ncProfile of {args.n:,} engine creates on :memory: (top 15 by cumulative time)")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(15)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="operations per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (best)")
    parser.add_argument("--rss-n", type=int, default=100_000, help="creates before RSS")
    parser.add_argument("--rss-db", choices=("file", "memory"), default="file")
    parser.add_argument("--profile", action="store_true", help="also profile the create path")
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not (1 <= args.n <= 1_000_000 and 1 <= args.repeats <= 20 and 0 <= args.rss_n <= 10**7):
        parser.error("--n is 1..1,000,000, --repeats 1..20, --rss-n 0..10,000,000")
    return args


def main() -> None:
    args = parse_args()
    if args.rss_child is not None:
        rss_child(args.rss_child, args.rss_db)
        return
    print(f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {sys.platform}")
    if args.rss_n:
        measure_rss(args)
    texts, statements = check_same_sql()
    _, with_ledger = check_same_sql(ledger=True)
    print(
        f"SQL check: the raw baseline runs the engine's {statements} statements per lifecycle"
        f" ({with_ledger} with the ledger on);"
        f" {args.n:,} operations per run after {max(WARMUP_MIN, args.n // WARMUP_FRACTION):,}"
        f" warm-up, clock +{TICK_S} s per payment",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        for label, lifecycle, ledger in (
            ("create", False, False),
            ("lifecycle", True, False),
            ("lifecycle+ledger", True, True),
        ):
            for db in ("file", ":memory:"):
                measure(label, lifecycle, db, args, texts, tmp, ledger)
    if args.profile:
        profile_create(args)


if __name__ == "__main__":
    main()
