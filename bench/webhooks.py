"""Webhook deliveries per second over real HTTP, next to a bare httpx loop.

    .venv/bin/python bench/webhooks.py [--n 10000] [--batch-size 50] [--repeats 2]
                                       [--also-batch-sizes 10,200] [--profile]

A receiver (a minimal ASGI app: read the body, answer 200 ``ok``) runs under uvicorn in a
separate process on 127.0.0.1, keep-alive on. An ``Engine`` on an SQLite file holds ``n``
payments simulated to success: ``n`` ``payment.success`` events in the outbox, one per
payment (made once, untimed, then copied to a fresh file for every run). ``dispatcher`` is
``engine.dispatcher()`` (the real ``GuardedTransport``) running ``run_until_idle`` until all
are delivered; ``bare httpx`` is one ``httpx.Client`` POSTing a body of the same size to the
same receiver ``n`` times in a row. ``ratio`` is dispatcher / bare: the share of plain HTTP
speed the dispatcher keeps while claiming, signing and recording each delivery (above 1:
the dispatcher's own poster sends a batch together, on httptools, where the baseline sends
one httpx request at a time). Both runs are checked against the receiver's own request
count.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.metadata
import importlib.util
import json
import os
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from typing import Any, cast

import httpx

from mockpay_core import Engine, EngineConfig
from mockpay_core.config import DeliveryConfig
from server.testing import serving

HOST = "127.0.0.1"
HOOK_PATH = "/hooks"
COUNT_PATH = "/count"
SUCCESS = "payment.success"
AMOUNT = 49.99
TARGET_RATIO = 0.5
READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 5.0  # the dispatcher's default DeliveryConfig.timeout_s
PASSES_MAX = 100_000  # run_until_idle's bound: n / batch_size passes are needed

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


# The receiver, run by uvicorn in its own process as ``webhooks:receiver``


class Receiver:
    """Reads each request's body and answers 200; ``GET /count`` answers the POSTs so far."""

    def __init__(self) -> None:
        self.posts = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        if scope["method"] == "GET" and scope["path"] == COUNT_PATH:
            body = str(self.posts).encode()
        else:
            self.posts += 1
            body = b"ok"
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


receiver = Receiver()


def http_implementation() -> str:
    return "httptools" if importlib.util.find_spec("httptools") else "h11"


@contextmanager
def receiver_process() -> Iterator[str]:
    """uvicorn serving ``receiver`` on a free loopback port; its base URL. Always stopped."""
    argv = [
        sys.executable, "-m", "uvicorn", "webhooks:receiver",
        "--app-dir", os.path.dirname(os.path.abspath(__file__)),
        "--host", HOST, "--http", http_implementation(),
        "--log-level", "warning", "--no-access-log", "--lifespan", "off",
    ]  # fmt: skip
    with serving(argv, timeout_s=READY_TIMEOUT_S, stop_timeout_s=STOP_TIMEOUT_S) as served:
        yield served.url


def posts_received(base: str) -> int:
    return int(httpx.get(base + COUNT_PATH, trust_env=False, timeout=REQUEST_TIMEOUT_S).text)


# The outbox: made once, copied per run


def engine_config(batch_size: int | None = None) -> EngineConfig:
    """No fraud rules, so every payment is allowed and can be simulated to success."""
    delivery = DeliveryConfig() if batch_size is None else DeliveryConfig(batch_size=batch_size)
    return EngineConfig(seed_default_fraud_rules=False, delivery=delivery)


def build_outbox(path: str, url: str, n: int) -> bytes:
    """``n`` payments simulated to success; one event's body as the dispatcher sends it."""
    engine = Engine.open(path, config=engine_config())
    try:
        tenant_id = engine.register_tenant("Bench", "bench@example.test").tenant.id
        for i in range(n):
            key = f"webhooks-{i}"
            payment = engine.create_payment(
                tenant_id, amount=AMOUNT, currency="USD", webhook_url=url, idempotency_key=key
            ).value
            engine.simulate(tenant_id, payment.id, "success")
        hooks = webhook_metrics(engine)
        types = {e.type for e in engine.events(tenant_id, limit=1000)}
        if hooks["events"] != n or hooks["by_status"]["pending"] != n or types != {SUCCESS}:
            sys.exit(f"expected {n:,} pending {SUCCESS} events, found {hooks}, {types}")
        payload = engine.events(tenant_id, limit=1)[0].payload
    finally:
        engine.close()
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def webhook_metrics(engine: Engine) -> dict[str, Any]:
    return cast(dict[str, Any], engine.metrics()["webhooks"])


def copy_database(template: str, dest: str) -> str:
    for suffix in ("", "-wal"):
        if os.path.exists(template + suffix):
            shutil.copyfile(template + suffix, dest + suffix)
    return dest


# The two sides


@dataclass(frozen=True, slots=True)
class Run:
    rate: float  # requests per second
    durations_ms: list[float]  # per request (bare) or per attempt, as the dispatcher records


def run_dispatcher(
    db: str, base: str, n: int, batch_size: int, profiler: cProfile.Profile | None = None
) -> Run:
    """Deliver the whole outbox; exit unless all ``n`` are delivered and received once."""
    engine = Engine.open(db, config=engine_config(batch_size))
    dispatcher = engine.dispatcher()
    try:
        before = posts_received(base)
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        made = dispatcher.run_until_idle(PASSES_MAX)
        elapsed = time.perf_counter() - started
        if profiler:
            profiler.disable()
        received = posts_received(base) - before
        hooks = webhook_metrics(engine)
        delivered = hooks["by_status"]["delivered"]
        if not made == delivered == received == n:
            sys.exit(
                f"dispatcher: {made:,} attempts, {delivered:,} delivered, {received:,}"
                f" received; expected {n:,} of each ({hooks})"
            )
        with engine.store.reader() as r:
            durations = [a.duration_ms for a in r.attempts(None, None, n)]
    finally:
        dispatcher.close()
        engine.close()
    return Run(n / elapsed, durations)


def run_bare(base: str, body: bytes, n: int) -> Run:
    """One keep-alive client, ``n`` sequential POSTs; exit unless all answer 200."""
    url, headers = base + HOOK_PATH, {"Content-Type": "application/json"}
    durations, failed = [], 0
    before = posts_received(base)
    with httpx.Client(trust_env=False, timeout=REQUEST_TIMEOUT_S) as client:
        started = time.perf_counter()
        for _ in range(n):
            sent = time.perf_counter()
            response = client.post(url, content=body, headers=headers)
            durations.append((time.perf_counter() - sent) * 1000)
            failed += response.status_code != 200
        elapsed = time.perf_counter() - started
    received = posts_received(base) - before
    if failed or received != n:
        sys.exit(f"bare httpx: {failed:,} non-200 answers, {received:,} received of {n:,}")
    return Run(n / elapsed, durations)


# Measuring and printing


def percentiles(durations_ms: list[float]) -> str:
    q = statistics.quantiles(durations_ms, n=100, method="inclusive")
    return f"p50 {q[49]:.3f} ms  p99 {q[98]:.3f} ms"


def _spread(rates: list[float]) -> float:
    return (max(rates) - min(rates)) / statistics.median(rates)


def best(runs: list[Run]) -> Run:
    """The fastest run: other load on the machine only ever slows a run down."""
    return max(runs, key=lambda r: r.rate)


def measure(args: argparse.Namespace, base: str, body: bytes, fresh: Callable[[], str]) -> Run:
    """Dispatcher and bare runs interleaved; the best of each, their ratio and latencies."""
    ours, bare = [], []
    for _ in range(args.repeats):
        ours.append(run_dispatcher(fresh(), base, args.n, args.batch_size))
        bare.append(run_bare(base, body, args.n))
    o, b = best(ours), best(bare)
    print(
        f"deliveries/s: dispatcher {o.rate:,.0f}  bare httpx {b.rate:,.0f}  ratio"
        f" {o.rate / b.rate:.2f}   (batch size {args.batch_size}, best of {args.repeats};"
        f" spread dispatcher {_spread([r.rate for r in ours]):.0%},"
        f" bare {_spread([r.rate for r in bare]):.0%})",
        flush=True,
    )
    print(f"  per attempt (dispatcher's duration_ms): {percentiles(o.durations_ms)}")
    print(f"  per request (bare httpx):               {percentiles(b.durations_ms)}")
    verdict = "met" if o.rate / b.rate >= TARGET_RATIO else "MISSED"
    print(f"  target ratio >= {TARGET_RATIO}: {verdict}", flush=True)
    return b


def measure_batch_sizes(
    args: argparse.Namespace, base: str, bare: Run, fresh: Callable[[], str]
) -> None:
    for size in args.also_batch_sizes:
        run = run_dispatcher(fresh(), base, args.n, size)
        print(
            f"batch size {size:>4}: dispatcher {run.rate:,.0f}/s  ratio {run.rate / bare.rate:.2f}"
            f"  (one run, against the best bare)  {percentiles(run.durations_ms)}",
            flush=True,
        )


def profile_dispatcher(args: argparse.Namespace, base: str, db: str) -> None:
    profiler = cProfile.Profile()
    run_dispatcher(db, base, args.n, args.batch_size, profiler)
    print(
        f"\ncProfile of run_until_idle over {args.n:,} deliveries, batch size"
        f" {args.batch_size} (top 15 by cumulative time)"
    )
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(15)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="events delivered per run")
    parser.add_argument(
        "--batch-size", type=int, default=DeliveryConfig().batch_size, help="events per pass"
    )
    parser.add_argument("--repeats", type=int, default=2, help="runs per figure (best)")
    parser.add_argument(
        "--also-batch-sizes",
        type=lambda text: [int(s) for s in text.split(",") if s],
        default=[10, 200],
        help="comma-separated batch sizes for one extra dispatcher run each ('' for none)",
    )
    parser.add_argument("--profile", action="store_true", help="also profile one dispatcher run")
    args = parser.parse_args()
    sizes_ok = all(1 <= s <= 1000 for s in [args.batch_size, *args.also_batch_sizes])
    if not (10 <= args.n <= 100_000 and 1 <= args.repeats <= 10 and sizes_ok):
        parser.error("--n is 10..100,000, --repeats 1..10, batch sizes 1..1000")
    return args


def main() -> None:
    args = parse_args()
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("httpx", "httpcore", "uvicorn")
    )
    print(
        f"Python {sys.version.split()[0]}, {versions} (http {http_implementation()}),"
        f" SQLite {sqlite3.sqlite_version}, {sys.platform}"
    )
    with tempfile.TemporaryDirectory() as tmp, receiver_process() as base:
        started = time.perf_counter()
        template = os.path.join(tmp, "outbox.db")
        body = build_outbox(template, base + HOOK_PATH, args.n)
        paths = (os.path.join(tmp, f"run-{i}.db") for i in count())

        def fresh() -> str:
            return copy_database(template, next(paths))

        print(
            f"receiver: uvicorn on {base} (separate process); {args.n:,} payment.success"
            f" events of {len(body)} bytes made in {time.perf_counter() - started:.0f} s"
            " (untimed; a fresh copy per run)",
            flush=True,
        )
        bare = measure(args, base, body, fresh)
        measure_batch_sizes(args, base, bare, fresh)
        if args.profile:
            profile_dispatcher(args, base, fresh())


if __name__ == "__main__":
    main()
