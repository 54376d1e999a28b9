"""``bench/serve.py --db postgres``: creates per second on PostgreSQL with 1, 2, 4 server
processes, next to SQLite's single process in the same run.

Each figure is wrk against ``mockpay serve --db <url> --workers N`` (N uvicorn processes on
one PostgreSQL schema, ``bench_serve``, emptied before each server starts), with webhook
delivery on as by default, for a fresh tenant: POST /api/payments with a new
Idempotency-Key per request, checked against the database afterwards (every 201 is one
payment). The SQLite figure is the same run against ``mockpay serve`` on a file.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import serve as s

SCHEMA = "bench_serve"


def postgres_url(given: str | None) -> str:
    url = (
        given
        or os.environ.get("MOCKPAY_DATABASE_URL")
        or os.environ.get("MOCKPAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    if not url.startswith(("postgresql://", "postgres://")):
        sys.exit(f"--postgres-url: a postgresql:// URL, not {url!r}")
    return url


def fresh_schema(url: str) -> str:
    """The bench's schema, emptied: each server count starts from the same database."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")  # type: ignore[arg-type]
    except psycopg.Error as exc:
        sys.exit(f"PostgreSQL unreachable at {url}: {exc}")
    return f"{url}?schema={SCHEMA}"


def figure(
    bench_for: Callable[..., s.Bench],
    db: str,
    servers: int,
    connections: list[int],
    log: str,
) -> dict[int, s.Load]:
    """Create runs (unique keys) against ``mockpay serve --workers servers`` on ``db``."""
    found = {}
    with s.serving(s.ours_argv(db, servers), log, s.ours_env()) as ours:
        bench = bench_for(ours=ours, bare=ours, db=db)
        bench.create_unique(8, s.WARMUP_S)
        for c in connections:
            found[c], note = bench.create_unique(c)
            print(f"  {c:>3} connections: {found[c].rate:7,.0f} creates/s  {found[c].describe()}")
            print(f"                   {note}", flush=True)
    return found


def run_postgres(args: Any, tmp: str) -> None:
    path = functools.partial(os.path.join, tmp)
    with open(path("bench.lua"), "w", encoding="utf-8") as f:
        f.write(s.LUA)
    url = postgres_url(args.postgres_url)
    receiver_argv = [
        sys.executable, "-m", "uvicorn", "webhooks:receiver", "--app-dir", s._HERE,
        "--host", s.HOST, "--log-level", "warning", "--no-access-log", "--lifespan", "off",
    ]  # fmt: skip
    results: dict[str, dict[int, s.Load]] = {}
    with s.serving(receiver_argv, path("receiver.log")) as receiver:
        body = {"amount": s.AMOUNT, "currency": s.CURRENCY, "webhook_url": f"{receiver.base}/hooks"}
        wrk = s.Wrk(path("bench.lua"), json.dumps(body), args.duration)
        bench_for = functools.partial(s.Bench, wrk, receiver=receiver.base, listed=s.Tenant("", ""))
        print("sqlite, 1 process (mockpay serve --db <file>)", flush=True)
        results["sqlite x1"] = figure(
            bench_for, path("ours.db"), 1, args.connections, path("sqlite.log")
        )
        for n in args.servers:
            print(f"postgres, {n} process{'es' if n > 1 else ''}"
                  f" (mockpay serve --db postgresql://... --workers {n})", flush=True)  # fmt: skip
            results[f"postgres x{n}"] = figure(
                bench_for, fresh_schema(url), n, args.connections, path(f"pg-{n}.log")
            )
    fresh_schema(url)  # leave nothing behind
    print("\ncreate, unique keys   " + "".join(f"| {c:>3} conn: req/s  p50 ms  p99 ms "
                                            for c in args.connections))  # fmt: skip
    for label, loads in results.items():
        cells = "".join(
            f"| {loads[c].rate:14,.0f} {loads[c].p50_ms:7.1f} {loads[c].p99_ms:7.1f} "
            for c in args.connections
        )
        print(f"{label:<22}{cells}")
    print(f"load average {s.load_average()} at the end", flush=True)
