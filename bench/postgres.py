"""``bench/serve.py --db postgres``: creates per second on PostgreSQL by server processes and
tenants, next to the bare endpoint and SQLite's ``mockpay serve`` in the same run.

For each setting, ``mockpay serve --workers N`` on PostgreSQL (its own schema, ``bench_serve``,
dropped before each server starts and at the end) and on a fresh SQLite file (1 and 2
processes, the reference), with webhook delivery on as by default: for each connection count
and tenant count, ``--rounds`` times a bare create run then ours, POST /api/payments with a
new Idempotency-Key per request, each request from a random one of the fresh tenants. Each
run is checked against the database (every 201 is one payment, summed over the tenants).
Printed per figure (medians of the rounds): creates/s, p50, p99, errors, ratio to bare, the
server's CPU per create (all its processes) and the PostgreSQL backends' (the processes of
the connections whose application_name is the server's, ``mockpay-bench``, found in
pg_stat_activity: other sessions on the same database do not count). Then issue 15's
targets, PASS or FAIL (bench/targets.py), judged on the servers of PostgreSQL's default
durability (``full``); ``--durability full,normal`` measures each setting with ``mockpay serve
--durability normal`` too (COMMIT does not wait for the WAL flush), as ``postgres-normal``.
``--profile``: py-spy samples the one-process server on each database during one more create
run (bench/spy.py), areas side by side.
"""

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import bare
from ours import (
    AMOUNT,
    CURRENCY,
    WARMUP_S,
    Bench,
    Tenant,
    load_average,
    ours_argv,
    ours_env,
    receiver_argv,
)  # fmt: skip
from procs import ticks_of
from spy import profile_create
from targets import Figure, judge, summarize
from wrk import LUA, Wrk

from server.testing import ServedProcess, serving

SCHEMA = "bench_serve"
APP_NAME = "mockpay-bench"  # the servers' connections, told apart in pg_stat_activity
SQLITE_SERVERS = (1, 2)
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url(given: str | None) -> str:
    url = given or os.environ.get("MOCKPAY_TEST_POSTGRES_URL") or DEFAULT_URL
    if not url.startswith(("postgresql://", "postgres://")):
        sys.exit(f"--postgres-url: a postgresql:// URL, not {url!r}")
    return url


def drop_schema(url: str) -> None:
    """Drop the bench's schema (and all in it)."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")  # type: ignore[arg-type]
    except psycopg.Error as exc:
        sys.exit(f"PostgreSQL unreachable at {url}: {exc}")


@contextmanager
def backends(url: str) -> Iterator[Callable[[], dict[int, int] | None]]:
    """A function giving the CPU ticks of the backends serving the servers' connections."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        query = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"

        def ticks() -> dict[int, int] | None:
            return ticks_of(int(row[0]) for row in conn.execute(query, (APP_NAME,)))

        yield ticks


@contextmanager
def server(
    db: str, servers: int, url: str, path: Callable[[str], str], durability: str | None = None
) -> Iterator[tuple[ServedProcess, str]]:
    """``mockpay serve --workers servers`` on a fresh database; it and the database."""
    if db.startswith("postgres"):
        drop_schema(url)
        database = f"{url}{'&' if '?' in url else '?'}schema={SCHEMA}&application_name={APP_NAME}"
    else:
        database = path(f"sqlite-{servers}.db")
    log = path(f"{db}-{servers}.log")
    with serving(ours_argv(database, servers, durability), log, env=ours_env()) as ours:
        yield ours, database


def measure(
    bench: Bench, db: str, servers: int, tenants: int, connections: int, rounds: int
) -> Figure:
    """``rounds`` alternated bare and ours create runs, printed, and their medians."""
    pairs, note = [], ""
    for i in range(rounds):
        bare_load = bench.bare_create(connections)
        ours_load, note = bench.create_unique(connections, tenants=tenants)
        pairs.append((bare_load, ours_load))
        if rounds > 1:
            print(
                f"    round {i + 1}: ours {ours_load.rate:,.0f}/s (p99 {ours_load.p99_ms:.1f} ms)"
                f"  bare {bare_load.rate:,.0f}/s  ratio {ours_load.rate / bare_load.rate:.3f}",
                flush=True,
            )
    figure = summarize(db, servers, tenants, connections, pairs)
    print(f"  {describe(figure)}\n    {pairs[-1][1].describe()}\n    {note}", flush=True)
    return figure


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def describe(f: Figure) -> str:
    return (
        f"{f.label}, {f.connections:>3} conn: {f.rate:7,.0f} creates/s  ratio {f.ratio:.3f}"
        f" (bare {f.bare_rate:,.0f})  p50 {f.p50_ms:.1f}  p99 {f.p99_ms:.1f} ms"
        f"  errors {f.errors:,}  CPU/create: server {_ms(f.cpu_ms)} ms"
        + ("" if f.db_cpu_ms is None else f", PostgreSQL {f.db_cpu_ms:.2f} ms")
    )


def print_table(figures: list[Figure], rounds: int) -> None:
    print(
        f"\ncreate, unique keys, medians of {rounds} round(s)\n"
        f"{'setting':<31}{'conn':>5}{'creates/s':>10}{'bare/s':>8}{'ratio':>7}{'p50 ms':>8}"
        f"{'p99 ms':>8}{'errors':>7}{'srv ms':>8}{'pg ms':>7}"
    )
    for f in figures:
        print(
            f"{f.label:<31}{f.connections:>5}{f.rate:>10,.0f}{f.bare_rate:>8,.0f}{f.ratio:>7.3f}"
            f"{f.p50_ms:>8.1f}{f.p99_ms:>8.1f}{f.errors:>7,}{_ms(f.cpu_ms):>8}"
            f"{_ms(f.db_cpu_ms):>7}"
        )


def run_postgres(args: Any, tmp: str) -> None:
    path = functools.partial(os.path.join, tmp)
    with open(path("bench.lua"), "w", encoding="utf-8") as f:
        f.write(LUA)
    url = postgres_url(args.postgres_url)
    drop_schema(url)
    bare.make_bare_db(path("bare.db"))
    # (label, servers, --durability): "postgres" is the default (full) that the targets judge
    settings = [("sqlite", n, None) for n in SQLITE_SERVERS] + [
        ("postgres" if d == "full" else f"postgres-{d}", n, d)
        for d in args.durability
        for n in args.servers
    ]
    figures: list[Figure] = []
    try:
        with (
            backends(url) as backend_ticks,
            serving(receiver_argv(), path("receiver.log")) as receiver,
            serving(bare.argv(path("bare.db")), path("bare.log")) as bare_server,
        ):
            body = {"amount": AMOUNT, "currency": CURRENCY, "webhook_url": f"{receiver.url}/hooks"}
            wrk = Wrk(path("bench.lua"), json.dumps(body), args.duration)
            print(
                f"bare: uvicorn (1 process); ours: mockpay serve; PostgreSQL at {url},"
                f" {args.duration} s per run;"
                f" load average {load_average()}",
                flush=True,
            )
            for db, servers, durability in settings:
                with server(db, servers, url, path, durability) as (ours, db_url):
                    bench = Bench(
                        wrk, ours, bare_server, receiver.url, db_url, Tenant("", ""),
                        backend_ticks if db.startswith("postgres") else None,
                    )  # fmt: skip
                    bench.bare_create(8, WARMUP_S)
                    bench.create_unique(8, WARMUP_S)
                    print(f"{db}, mockpay serve --workers {servers}", flush=True)
                    for connections in args.connections:
                        for tenants in args.tenants:
                            figures.append(
                                measure(bench, db, servers, tenants, connections, args.rounds)
                            )
                    if args.profile and servers == 1:  # where one process's time goes, per db
                        print(f"\n{db}, one process:", end="")
                        profile_create(
                            bench, min(args.connections), args.duration, path(f"spy-{db}.txt")
                        )
    finally:
        drop_schema(url)
    print_table(figures, args.rounds)
    print("\ntargets (issue 15), at the fewest connections unless named:")
    for verdict in judge(figures):
        print(f"  {verdict.describe()}")
    print(f"load average {load_average()} at the end", flush=True)
