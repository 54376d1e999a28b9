"""Requests per second and latency of ``mockpay serve`` under load, next to a bare FastAPI app.

    .venv/bin/python bench/serve.py [--duration 20] [--connections 8,64] [--workers N]
                                   [--rounds N] [--profile]

wrk (Debian's ``wrk``: ``apt-get install wrk``) runs in its own process, one thread,
keep-alive HTTP/1.1 on 127.0.0.1, for ``duration`` seconds per figure, and reports
requests per second, p50 and p99 latency, and errors (non-2xx answers, socket errors and
timeouts). ``ours`` is ``mockpay serve`` (one uvicorn process) on an SQLite file (WAL), with
webhook delivery on, as by default:

- create, unique keys: POST /api/payments, a new Idempotency-Key per request (a counter per
  wrk thread, in Lua), for a tenant registered just before through POST /api/auth/register.
  The default velocity rule (5 payments per 60 s) flags all but 5 of them: they are still
  created (201), and each queues a ``fraud.detected`` webhook that the server delivers
  during the run to a receiver (bench/webhooks.py's) in another process.
- create, same key: every request sends one Idempotency-Key: one payment, the rest replays.
- list: GET /api/payments?limit=10 for a tenant with 10,000 payments, made untimed through
  the engine before the server starts (tier ``unlimited``, so that the rate limit cannot cut
  a long run short).

``bare`` is the ceiling: bench/bare.py's FastAPI app under uvicorn, one process, whose POST
validates the same body with pydantic and runs one INSERT into its own SQLite file (WAL,
synchronous=NORMAL, a connection per thread), and whose GET selects the 10 newest of 10,000
rows. ``ratio`` is ours / bare (both creates against bare's create). Each create run is
checked against the database: every 201 is one payment, or one replay of it. Beside the
latencies, the server's CPU time per request (its process and children, from /proc).

``--workers N`` then runs creates and lists again against ``mockpay serve --workers N``;
``--rounds N`` then alternates bare and ours creates N times at the fewest connections and
prints the median ratio (the speed of a shared VM drifts by tens of percent within minutes);
``--profile`` samples ours with py-spy (``pip install py-spy``) during one more create run.

``--db postgres [--servers 1,2,4] [--tenants 1,20] [--durability full,normal]
[--postgres-url URL]`` measures creates on PostgreSQL by server process count, tenant count
and the servers' ``--durability`` instead, next to bare and SQLite's ``mockpay serve`` in the
same run, and prints issue 15's targets (judged on ``full``, the default; bench/postgres.py).

The parts: bench/wrk.py (the Lua script, running wrk, parsing), bench/bare.py (the bare
app), bench/ours.py (our server's command, tenants, the database checks), bench/spy.py
(``--profile``), bench/procs.py (CPU time from /proc).
"""

import argparse
import functools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import bare
from flags import parse_args
from ours import (
    AMOUNT,
    CURRENCY,
    LISTED,
    WARMUP_S,
    Bench,
    Figures,
    check_endpoints,
    load_average,
    make_listed_tenant,
    ours_argv,
    ours_env,
    receiver_argv,
    versions,
)
from spy import profile_create
from wrk import LUA, WRK_THREADS, WRK_TIMEOUT_S, Load, Wrk

from server.testing import serving

PAGE = bare.PAGE
CREATE_RATE_MIN, CREATE_P99_MS_MAX, CREATE_RATIO_MIN = 1500, 20.0, 0.65
LIST_RATE_MIN = 2000
STALL_SHARE = 0.2  # a stall: a whole second with under a fifth of the run's median completions


def line(label: str, ours: Load, bare: Load, tag: str, note: str = "") -> None:
    print(
        f"{label}: {tag} {ours.rate:,.0f}  bare {bare.rate:,.0f}  ratio {ours.rate / bare.rate:.2f}"
        f"   ({ours.duration_s:.0f} s each)",
        flush=True,
    )
    print(f"  {tag}: {ours.describe()}")
    if note:
        print(f"  {' ' * len(tag)}  {note}")


def measure(b: Bench, connections: int, figures: Figures, tag: str) -> None:
    """Bare and ours interleaved: bare create, ours unique and same key, bare list, ours list."""
    bare_create = b.bare_create(connections)
    unique, note = b.create_unique(connections)
    line(f"create/s unique keys, {connections} connections", unique, bare_create, tag, note)
    print(f"  bare: {bare_create.describe()}")
    same, note = b.create_same(connections)
    line(f"create/s same key, {connections} connections", same, bare_create, tag, note)
    bare_list = b.bare_list(connections)
    listed = b.ours_list(connections)
    line(f"list/s limit {PAGE} of {LISTED:,}, {connections} connections", listed, bare_list, tag)
    print(f"  bare: {bare_list.describe()}", flush=True)
    figures.ours.update({("unique", connections): unique, ("same", connections): same})
    figures.ours[("list", connections)] = listed
    figures.bare.update({("create", connections): bare_create, ("list", connections): bare_list})


def measure_workers(b: Bench, connections: int, figures: Figures, tag: str) -> None:
    """Ours as several processes: create (unique keys) and list, against the same bare runs."""
    unique, note = b.create_unique(connections)
    bare_create, bare_list = (figures.bare[(s, connections)] for s in ("create", "list"))
    line(f"create/s unique keys, {connections} connections", unique, bare_create, tag, note)
    listed = b.ours_list(connections)
    line(f"list/s limit {PAGE} of {LISTED:,}, {connections} connections", listed, bare_list, tag)
    figures.ours.update({("unique", connections): unique, ("list", connections): listed})


def ratio_rounds(b: Bench, connections: int, rounds: int, tag: str) -> None:
    """Bare and ours creates alternated ``rounds`` times: on a machine whose speed drifts
    from one minute to the next (a shared VM), the median of paired ratios says more than
    one pair."""
    ratios, rates = [], []
    for i in range(rounds):
        bare = b.bare_create(connections)
        ours, _ = b.create_unique(connections)
        ratios.append(ours.rate / bare.rate)
        rates.append(ours.rate)
        print(
            f"  round {i + 1}: {tag} {ours.rate:,.0f} (p99 {ours.p99_ms:.1f} ms)"
            f"  bare {bare.rate:,.0f}  ratio {ratios[-1]:.3f}",
            flush=True,
        )
    print(
        f"create at {connections} connections, {rounds} alternated rounds: {tag} median"
        f" {statistics.median(rates):,.0f}/s, median ratio {statistics.median(ratios):.3f}"
        f" (spread {min(ratios):.3f} to {max(ratios):.3f})",
        flush=True,
    )


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_targets(figures: Figures, connections: list[int], tag: str) -> None:
    """Create targets at the fewest connections; errors, stalls at the most; list at all."""
    few, many = min(connections), max(connections)
    create, bare = figures.ours[("unique", few)], figures.bare[("create", few)]
    ratio = create.rate / bare.rate
    print(
        f"targets, {tag}: create at {few} connections >= {CREATE_RATE_MIN:,}/s"
        f" {verdict(create.rate >= CREATE_RATE_MIN)} ({create.rate:,.0f}),"
        f" p99 <= {CREATE_P99_MS_MAX:.0f} ms {verdict(create.p99_ms <= CREATE_P99_MS_MAX)}"
        f" ({create.p99_ms:.1f}), ratio to bare >= {CREATE_RATIO_MIN}"
        f" {verdict(ratio >= CREATE_RATIO_MIN)} ({ratio:.3f})"
    )
    at_many = [load for (_, c), load in figures.ours.items() if c == many]
    errors = sum(load.errors for load in at_many)
    slowest = min(load.slowest_share for load in at_many)
    lists = [figures.ours[("list", c)].rate for c in connections]
    print(
        f"  at {many} connections: 0 errors {verdict(errors == 0)} ({errors:,}), no stall"
        f" {verdict(slowest >= STALL_SHARE)} (slowest second {slowest:.0%} of median);"
        f" list >= {LIST_RATE_MIN:,}/s {verdict(min(lists) >= LIST_RATE_MIN)}"
        f" ({' and '.join(f'{r:,.0f}' for r in lists)})",
        flush=True,
    )


# Setting up


def warm_up(b: Bench) -> None:
    b.bare_create(8, WARMUP_S)
    b.bare_list(8, WARMUP_S)
    b.create_unique(8, WARMUP_S)
    b.ours_list(8, WARMUP_S)


def run(args: argparse.Namespace, tmp: str) -> None:
    path = functools.partial(os.path.join, tmp)
    with open(path("bench.lua"), "w", encoding="utf-8") as f:
        f.write(LUA)
    started = time.perf_counter()
    listed = make_listed_tenant(path("ours.db"))
    bare.make_bare_db(path("bare.db"))
    print(
        f"data: {LISTED:,} payments of the listed tenant (through the engine), {LISTED:,} bare"
        f" rows; made in {time.perf_counter() - started:.0f} s (untimed)",
        flush=True,
    )
    with (
        serving(receiver_argv(), path("receiver.log")) as receiver,
        serving(bare.argv(path("bare.db")), path("bare.log")) as bare_server,
    ):
        body = {"amount": AMOUNT, "currency": CURRENCY, "webhook_url": f"{receiver.url}/hooks"}
        wrk = Wrk(path("bench.lua"), json.dumps(body), args.duration)
        bench = functools.partial(
            Bench, wrk, bare=bare_server, receiver=receiver.url, db=path("ours.db"), listed=listed
        )
        figures = run_one_process(args, bench, path)
        if args.workers:
            run_workers(args, bench, figures, path)
    print(f"load average {load_average()} at the end", flush=True)


def run_one_process(
    args: argparse.Namespace, bench_for: Callable[..., Bench], path: Callable[[str], str]
) -> Figures:
    figures = Figures()
    with serving(ours_argv(path("ours.db"), 1), path("ours.log"), env=ours_env()) as ours:
        bench = bench_for(ours=ours)
        check_endpoints(bench)
        warm_up(bench)
        print(
            f"ours: mockpay serve (1 process), bare: uvicorn (1 process), both on 127.0.0.1;"
            f" wrk {WRK_THREADS} thread, {args.duration} s per figure, timeout {WRK_TIMEOUT_S} s;"
            f" load average {load_average()}",
            flush=True,
        )
        for connections in args.connections:
            measure(bench, connections, figures, "ours")
        print_targets(figures, args.connections, "ours, 1 process")
        if args.rounds > 1 and not args.workers:
            ratio_rounds(bench, min(args.connections), args.rounds, "ours")
        if args.profile:
            profile_create(bench, min(args.connections), args.duration, path("py-spy.txt"))
    return figures


def run_workers(
    args: argparse.Namespace,
    bench_for: Callable[..., Bench],
    figures: Figures,
    path: Callable[[str], str],
) -> None:
    """ours again as several processes on the same database, against the same bare runs."""
    tag, workers = f"ours x{args.workers}", Figures(bare=figures.bare)
    argv = ours_argv(path("ours.db"), args.workers)
    with serving(argv, path("workers.log"), env=ours_env()) as many:
        bench = bench_for(ours=many)
        bench.create_unique(8, WARMUP_S)
        print(f"{tag}: mockpay serve --workers {args.workers}", flush=True)
        for connections in args.connections:
            measure_workers(bench, connections, workers, tag)
        print_targets(workers, args.connections, f"mockpay serve --workers {args.workers}")
        if args.rounds > 1:
            ratio_rounds(bench, min(args.connections), args.rounds, tag)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk (Debian, Ubuntu) or brew install wrk")
    print(versions(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.db == "postgres":
            from postgres import run_postgres

            run_postgres(args, tmp)
        else:
            run(args, tmp)


if __name__ == "__main__":
    main()
