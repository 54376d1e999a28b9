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

``bare`` is the ceiling: a FastAPI app in this file under uvicorn, one process, whose POST
validates the same body with pydantic and runs one INSERT into its own SQLite file (WAL,
synchronous=NORMAL, a connection per thread), and whose GET selects the 10 newest of 10,000
rows. ``ratio`` is ours / bare (both creates against bare's create). Each create run is
checked against the database: every 201 is one payment, or one replay of it. Beside the
latencies, the server's CPU time per request (its process and children, from /proc).

``--workers N`` then runs creates and lists again against ``mockpay serve --workers N``;
``--rounds N`` then alternates bare and ours creates N times at the fewest connections and
prints the median ratio (the speed of a shared VM drifts by tens of percent within minutes);
``--profile`` samples ours with py-spy (``pip install py-spy``) during one more create run.

``--db postgres [--servers 1,2,4] [--postgres-url URL]`` measures creates on PostgreSQL
with that many server processes instead, next to SQLite's one process (bench/scaleout.py).
"""

import os
import sys

# No ``from __future__ import annotations``: FastAPI reads the bare app's annotations, and
# its body model is local to bare_app.
_HERE = os.path.dirname(os.path.realpath(__file__))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, field, replace  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

from procs import stop  # noqa: E402

if TYPE_CHECKING:
    from fastapi import FastAPI

HOST = "127.0.0.1"
AMOUNT, CURRENCY = 49.99, "USD"
PAGE = 10
LISTED = 10_000
ADMIN_TOKEN = "bench-http-admin-token"
WRK_THREADS = 1  # the server is the bottleneck; on a small machine a second thread takes a CPU
WRK_TIMEOUT_S = 5  # the store's busy timeout: a request slower than this counts as an error
WARMUP_S = 1
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
STALL_SHARE = 0.2  # a stall: a whole second with under a fifth of the run's median completions
CREATE_RATE_MIN, CREATE_P99_MS_MAX, CREATE_RATIO_MIN = 1500, 20.0, 0.65
LIST_RATE_MIN = 2000
SAMPLES_PER_S = 200  # py-spy's rate

# wrk's script. Arguments: mode (unique | same | get), run id, API key, JSON body. Each
# thread counts answers by status and by wall-clock second; done() prints them as @lines.
LUA = r"""
threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  mode, run_id = args[1], args[2]
  if args[3] ~= "" then wrk.headers["Authorization"] = "Bearer " .. args[3] end
  if mode ~= "get" then
    wrk.method, wrk.body = "POST", args[4]
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Idempotency-Key"] = run_id
  end
  fixed = wrk.format()
  sent, statuses, seconds, replayed = 0, {}, {}, 0
end

function request()
  if mode ~= "unique" then return fixed end
  sent = sent + 1
  wrk.headers["Idempotency-Key"] = run_id .. "-" .. tid .. "-" .. sent
  return wrk.format()
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local now = os.time()
  seconds[now] = (seconds[now] or 0) + 1
  if headers["idempotent-replayed"] or headers["Idempotent-Replayed"] then
    replayed = replayed + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  print(string.format("@summary %d %d %d %d %d %d", summary.requests, summary.duration,
    e.connect, e.read, e.write, e.timeout))
  print(string.format("@latency %.1f %.1f %.1f", latency:percentile(50),
    latency:percentile(99), latency.max))
  for _, t in ipairs(threads) do
    print("@replayed " .. t:get("replayed"))
    for k, v in pairs(t:get("statuses")) do print("@status " .. k .. " " .. v) end
    for k, v in pairs(t:get("seconds")) do print("@second " .. k .. " " .. v) end
  end
end
"""


# The bare app, served by uvicorn in a child process (``--serve-bare``)


def bare_app(db: str) -> "FastAPI":
    """POST /payments: validate, one INSERT, 201. GET /payments: the 10 newest rows."""
    import threading
    import uuid
    from datetime import UTC, datetime
    from typing import Annotated

    from fastapi import FastAPI, Header
    from fastapi.responses import JSONResponse
    from pydantic import AnyHttpUrl, BaseModel, Field

    class Body(BaseModel):
        amount: float = Field(gt=0, le=10_000_000)
        currency: str = Field(pattern="^[A-Z]{3}$")
        webhook_url: AnyHttpUrl

    local = threading.local()

    def conn() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            local.conn = open_bare(db)
        return local.conn

    app = FastAPI()

    @app.post("/payments", status_code=201)
    def create(body: Body, idempotency_key: Annotated[str | None, Header()] = None) -> JSONResponse:
        pid, now = str(uuid.uuid4()), datetime.now(UTC).isoformat()
        row = (pid, "bare-create", round(body.amount * 100), body.currency)
        conn().execute(
            "INSERT INTO payments VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*row, str(body.webhook_url), idempotency_key, now),
        )
        payment = {"id": pid, "amount": body.amount, "currency": body.currency, "created_at": now}
        return JSONResponse({"payment_id": pid, "status": "pending", "payment": payment}, 201)

    @app.get("/payments")
    def list_(limit: int = PAGE) -> dict[str, Any]:
        rows = conn().execute(
            "SELECT id, amount_minor, currency, webhook_url, created_at FROM payments"
            " WHERE tenant_id = 'bare-list' ORDER BY created_at DESC, id DESC LIMIT ?",
            (limit,),
        )
        names = ("id", "amount_minor", "currency", "webhook_url", "created_at")
        data = [dict(zip(names, r, strict=True)) for r in rows]
        return {"data": data, "total": len(data)}

    return app


def open_bare(db: str) -> sqlite3.Connection:
    conn = sqlite3.connect(db, timeout=WRK_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def make_bare_db(db: str) -> None:
    conn = open_bare(db)
    conn.execute(
        "CREATE TABLE payments (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, amount_minor"
        " INTEGER NOT NULL, currency TEXT NOT NULL, webhook_url TEXT NOT NULL,"
        " idempotency_key TEXT, created_at TEXT NOT NULL)"
    )
    conn.execute("CREATE INDEX payments_page ON payments (tenant_id, created_at DESC, id DESC)")
    rows = (
        (f"bare-{i:05}", "bare-list", 4999, CURRENCY, "http://x.test/", None, f"2026-01-01 {i:05}")
        for i in range(LISTED)
    )
    with conn:
        conn.executemany("INSERT INTO payments VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.close()


def serve_bare(db: str, port: int) -> None:
    import uvicorn

    uvicorn.run(bare_app(db), host=HOST, port=port, log_level="warning", access_log=False)


# Processes


@dataclass(frozen=True, slots=True)
class Server:
    base: str  # http://127.0.0.1:port
    pid: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_accepting(proc: subprocess.Popen[bytes], port: int, log: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{proc.args!r} exited with code {proc.returncode}; see {log}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.2):
            return
        time.sleep(0.05)
    sys.exit(f"{proc.args!r} did not accept connections within {READY_TIMEOUT_S} s")


@contextlib.contextmanager
def serving(argv: list[str], log: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """``argv`` (which takes ``--port``) on a free port, output to ``log``; always stopped."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*argv, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        wait_accepting(proc, port, log)
        yield Server(f"http://{HOST}:{port}", proc.pid)
    finally:
        stop(proc, STOP_TIMEOUT_S)


def ours_argv(db: str, workers: int) -> list[str]:
    mockpay = os.path.join(os.path.dirname(sys.executable), "mockpay")
    return [mockpay, "serve", "--db", db, "--workers", str(workers)]


def ours_env() -> dict[str, str]:
    return {**os.environ, "MOCKPAY_ADMIN_TOKEN": ADMIN_TOKEN}


def cpu_s(pid: int) -> float | None:
    """CPU seconds used so far by ``pid`` and its child processes (from Linux's /proc)."""
    if not os.path.exists("/proc/self/stat"):
        return None
    ticks, todo = 0, [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{p}/stat", encoding="ascii") as f:
                fields = f.read().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children", encoding="ascii") as f:
                    todo += [int(c) for c in f.read().split()]
    return ticks / os.sysconf("SC_CLK_TCK")


# Data: made untimed, and read back to check each run


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    api_key: str


def make_listed_tenant(db: str) -> Tenant:
    """A tenant with ``LISTED`` pending payments, through the engine on ``db``."""
    from mockpay_core import Engine, EngineConfig

    engine = Engine.open(db, config=EngineConfig(seed_default_fraud_rules=False))
    try:
        new = engine.register_tenant("Bench list", "list@example.test", "unlimited")
        for i in range(LISTED):
            engine.create_payment(
                new.tenant.id, amount=AMOUNT, currency=CURRENCY, idempotency_key=f"list-{i}",
                webhook_url="http://127.0.0.1:9/hooks",
            )  # fmt: skip
    finally:
        engine.close()
    return Tenant(new.tenant.id, new.api_key)


def register(base: str, name: str) -> Tenant:
    import httpx

    body = {"name": name, "email": f"{name}@example.test"}
    r = httpx.post(f"{base}/api/auth/register", json=body, trust_env=False, timeout=10)
    if r.status_code != 201:
        sys.exit(f"POST /api/auth/register answered {r.status_code}: {r.text[:300]}")
    return Tenant(r.json()["tenant_id"], r.json()["api_key"])


def payments_by_status(db: str, tenant_id: str) -> Counter[str]:
    if db.startswith(("postgresql://", "postgres://")):
        import psycopg

        from mockpay_core.storage.postgres.store import split_schema

        url, schema = split_schema(db)
        with psycopg.connect(url, options=f"-c search_path={schema}") as pg:
            rows = pg.execute(
                "SELECT status, count(*) FROM payments WHERE tenant_id = %s GROUP BY status",
                (tenant_id,),
            ).fetchall()
            return Counter(dict(rows))
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM payments WHERE tenant_id = ? GROUP BY status",
            (tenant_id,),
        )
        return Counter(dict(rows.fetchall()))


def posts_received(receiver: str) -> int:
    import httpx

    return int(httpx.get(receiver + "/count", trust_env=False, timeout=10).text)


# Load


@dataclass(frozen=True, slots=True)
class Load:
    """One wrk run: completed requests, what they answered, and the server's CPU time."""

    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int  # connect, read, write and timeouts
    replayed: int
    statuses: Counter[int]
    per_second: list[int]  # completions in each whole second of the run
    cpu_ms: float | None = None  # the server's CPU time per completed request

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    @property
    def errors(self) -> int:
        return self.requests - self.ok + self.socket_errors

    @property
    def slowest_share(self) -> float:
        """The slowest whole second's completions over the median second's."""
        if len(self.per_second) < 3:
            return 1.0
        return min(self.per_second) / statistics.median(self.per_second)

    def describe(self) -> str:
        cpu = "n/a" if self.cpu_ms is None else f"{self.cpu_ms:.2f} ms"
        errors = f"errors {self.errors:,} of {self.requests:,}"
        if self.errors:
            bad = [f"{s} x {n:,}" for s, n in sorted(self.statuses.items()) if s >= 300]
            errors += f" ({', '.join([*bad, f'{self.socket_errors:,} socket/timeout'])})"
        return (
            f"p50 {self.p50_ms:.1f} ms  p99 {self.p99_ms:.1f} ms  max {self.max_ms:.0f} ms"
            f"  server CPU {cpu}/request  {errors}"
            f"  slowest second {self.slowest_share:.0%} of median"
        )


@dataclass(frozen=True, slots=True)
class Wrk:
    script: str
    body: str  # every POST's JSON body
    duration_s: int

    def run(
        self, url: str, server: Server, connections: int, mode: str, run_id: str = "",
        api_key: str = "", duration_s: int | None = None,
    ) -> Load:  # fmt: skip
        """``mode``: unique (a new Idempotency-Key per POST), same (one key) or get."""
        seconds = duration_s or self.duration_s
        argv = [
            "wrk", "-t", str(min(WRK_THREADS, connections)), "-c", str(connections),
            "-d", f"{seconds}s", "--timeout", f"{WRK_TIMEOUT_S}s", "-s", self.script, url,
            "--", mode, run_id, api_key, self.body,
        ]  # fmt: skip
        cpu_before = cpu_s(server.pid)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        cpu_after = cpu_s(server.pid)
        if done.returncode != 0 or "@summary" not in done.stdout:
            sys.exit(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
        load = parse_wrk(done.stdout)
        if cpu_before is None or cpu_after is None or not load.requests:
            return load
        return replace(load, cpu_ms=(cpu_after - cpu_before) * 1000 / load.requests)


def parse_wrk(out: str) -> Load:
    """The ``@`` lines that the Lua script's done() prints."""
    summary: list[int] = []
    latency: list[float] = []
    replayed, statuses, seconds = 0, Counter[int](), Counter[int]()
    for text in out.splitlines():
        tag, *values = text.split() or [""]
        if tag == "@summary":
            summary = [int(v) for v in values]
        elif tag == "@latency":
            latency = [float(v) / 1000 for v in values]
        elif tag == "@replayed":
            replayed += int(values[0])
        elif tag == "@status":
            statuses[int(values[0])] += int(values[1])
        elif tag == "@second":
            seconds[int(values[0])] += int(values[1])
    requests, duration_us, *socket_errors = summary
    p50, p99, top = latency
    whole = range(min(seconds) + 1, max(seconds)) if seconds else range(0)
    per_second = [seconds.get(s, 0) for s in whole]  # the partial first and last dropped
    return Load(
        requests, duration_us / 1e6, p50, p99, top, sum(socket_errors), replayed, statuses,
        per_second,
    )  # fmt: skip


# Measuring and printing


@dataclass(frozen=True, slots=True)
class Bench:
    wrk: Wrk
    ours: Server
    bare: Server
    receiver: str  # the webhook receiver's base URL
    db: str  # ours' database file
    listed: Tenant

    def create_url(self) -> str:
        return f"{self.ours.base}/api/payments"

    def list_url(self) -> str:
        return f"{self.ours.base}/api/payments?limit={PAGE}"

    def bare_create(self, connections: int, duration_s: int | None = None) -> Load:
        url = f"{self.bare.base}/payments"
        return self.wrk.run(url, self.bare, connections, "unique", "bare", duration_s=duration_s)

    def bare_list(self, connections: int, duration_s: int | None = None) -> Load:
        url = f"{self.bare.base}/payments?limit={PAGE}"
        return self.wrk.run(url, self.bare, connections, "get", duration_s=duration_s)

    def ours_list(self, connections: int, duration_s: int | None = None) -> Load:
        key = self.listed.api_key
        return self.wrk.run(
            self.list_url(), self.ours, connections, "get", api_key=key, duration_s=duration_s
        )

    def create_unique(self, connections: int, duration_s: int | None = None) -> tuple[Load, str]:
        """For a fresh tenant, so that every run starts from the same fraud-window state."""
        tenant = register(self.ours.base, f"bench-{time.monotonic_ns()}")
        before = posts_received(self.receiver)
        load = self.wrk.run(
            self.create_url(), self.ours, connections, "unique", tenant.id, tenant.api_key,
            duration_s,
        )  # fmt: skip
        webhooks = posts_received(self.receiver) - before
        made = payments_by_status(self.db, tenant.id)
        # wrk stops with up to ``connections`` requests in flight, which the server completes
        if not load.ok <= made.total() <= load.ok + connections:
            sys.exit(f"{load.ok:,} answered 201 but {made.total():,} payments were made: {made}")
        states = ", ".join(f"{n:,} {status}" for status, n in made.most_common())
        return load, f"{made.total():,} payments ({states}), {webhooks:,} webhooks delivered"

    def create_same(self, connections: int) -> tuple[Load, str]:
        tenant = register(self.ours.base, f"bench-{time.monotonic_ns()}")
        load = self.wrk.run(
            self.create_url(), self.ours, connections, "same", "same-key", tenant.api_key
        )
        made = payments_by_status(self.db, tenant.id).total()
        if made != 1 or load.replayed != load.ok - 1:
            sys.exit(f"one key: {made} payments, {load.replayed:,} replays of {load.ok:,} 201s")
        return load, f"1 payment, {load.replayed:,} replays (Idempotent-Replayed)"


@dataclass(slots=True)
class Figures:
    """Runs by (scenario, connections), for the targets."""

    ours: dict[tuple[str, int], Load] = field(default_factory=dict)
    bare: dict[tuple[str, int], Load] = field(default_factory=dict)


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


# Profile: py-spy on ours during one more create run


AREAS = (  # (frame marker, area): a sample counts to the first area with a frame on its stack
    ("Dispatcher.run_until_idle (", "webhook delivery (the background thread)"),
    ("tenant (server/deps.py", "authenticate and rate-limit (the tenant dependency)"),
    ("EngineCalls._run (", "commands on the writer thread (engine, batch, COMMIT)"),
    ("Engine.", "Engine methods (reads, on the event loop)"),
    ("EngineCalls._", "the writer thread: queue, answers"),
    ("WorkerThread.run (", "the rest of the thread pool: endpoints, sync dependencies"),
    ("request_done (server/logs.py", "the per-request JSON log line"),
    ("run_in_threadpool (", "hand-offs to the thread pool (event loop side)"),
    ("(fastapi/", "FastAPI: routing, dependencies, validation, JSON"),
    ("(starlette/middleware/base.py", "BaseHTTPMiddleware (@app.middleware('http'))"),
    ("(starlette/", "starlette, other"),
    ("(h11/", "h11 (HTTP/1.1)"),
    ("", "the rest: uvicorn, asyncio"),
)


def area(frames: list[str]) -> str:
    for marker, name in AREAS:
        if any(marker in f if marker.startswith("(") else f.startswith(marker) for f in frames):
            return name
    return AREAS[-1][1]


def profile_create(b: Bench, connections: int, duration_s: int, out: str) -> None:
    """py-spy samples ours' threads while they hold the GIL: one process runs Python on one
    CPU at a time, so that is the work that bounds one process's requests per second."""
    py_spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(py_spy):
        print("\nprofile skipped: py-spy not found (pip install py-spy)")
        return
    argv = [
        py_spy, "record", "--pid", str(b.ours.pid), "--duration", str(duration_s),
        "--rate", str(SAMPLES_PER_S), "--gil", "--format", "raw", "--output", out, "--nonblocking",
    ]  # fmt: skip
    spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    load, _ = b.create_unique(connections, duration_s)
    _, err = spy.communicate(timeout=duration_s + 60)
    if spy.returncode != 0 or not os.path.exists(out):
        print(f"\nprofile failed (py-spy {spy.returncode}): {err.decode()[-300:]}")
        return
    areas, leaves = Counter[str](), Counter[str]()
    with open(out, encoding="utf-8") as f:
        for raw in f:
            stack, _, n = raw.rstrip().rpartition(" ")
            frames = stack.split(";")
            leaves[frames[-1]] += int(n)
            areas[area(frames)] += int(n)
    total = areas.total()
    print(
        f"\npy-spy --gil, ours, {load.requests:,} creates at {connections} connections"
        f" ({load.rate:,.0f}/s while sampled): {total:,} samples of a thread holding the GIL"
        f" (in {total / (SAMPLES_PER_S * duration_s):.0%} of the run), each counted to the"
        " first of these on its stack:"
    )
    for _, name in AREAS:
        print(f"  {areas[name] / total:6.1%}  {name}")
    print("  the lines holding it (time in C, such as sqlite3's, counts to its caller):")
    for name, n in leaves.most_common(12):
        print(f"  {n / total:6.1%}  {name}")


# Setting up


def check_endpoints(b: Bench) -> None:
    """One request of each kind, untimed: exit unless each answers as the runs expect."""
    import httpx

    tenant = register(b.ours.base, "bench-check")
    auth = {"Authorization": f"Bearer {tenant.api_key}"}
    body, key = json.loads(b.wrk.body), {"Idempotency-Key": "check"}
    with httpx.Client(trust_env=False, timeout=10) as c:
        first = c.post(b.create_url(), json=body, headers={**auth, **key})
        again = c.post(b.create_url(), json=body, headers={**auth, **key})
        page = c.get(b.list_url(), headers={"Authorization": f"Bearer {b.listed.api_key}"})
        bare = c.post(f"{b.bare.base}/payments", json=body, headers=key)
        bare_page = c.get(f"{b.bare.base}/payments?limit={PAGE}")
    for r, status in [(first, 201), (again, 201), (page, 200), (bare, 201), (bare_page, 200)]:
        if r.status_code != status:
            sys.exit(f"{r.request.method} {r.request.url} answered {r.status_code}: {r.text}")
    if again.headers.get("Idempotent-Replayed") != "true":
        sys.exit("the second POST with one Idempotency-Key was not a replay")
    if len(page.json()["data"]) != PAGE or len(bare_page.json()["data"]) != PAGE:
        sys.exit(f"pages of {PAGE} expected: {page.text[:200]} / {bare_page.text[:200]}")


def warm_up(b: Bench) -> None:
    b.bare_create(8, WARMUP_S)
    b.bare_list(8, WARMUP_S)
    b.create_unique(8, WARMUP_S)
    b.ours_list(8, WARMUP_S)


def versions() -> str:
    import importlib.metadata
    import importlib.util

    names = ("fastapi", "starlette", "pydantic", "uvicorn")
    found = ", ".join(f"{n} {importlib.metadata.version(n)}" for n in names)
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(" [")[0]
    return (
        f"Python {sys.version.split()[0]}, {found} (http {http}, loop {loop}),"
        f" SQLite {sqlite3.sqlite_version}, {wrk}, {os.cpu_count()} CPUs, {sys.platform}"
    )


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds per figure")
    parser.add_argument(
        "--connections",
        type=lambda text: sorted({int(c) for c in text.split(",") if c}),
        default=[8, 64],
        help="comma-separated connection counts (default 8,64)",
    )
    parser.add_argument(
        "--workers", type=int, default=0,
        help="then also `mockpay serve --workers N`: creates and lists (default 0: not run)",
    )  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="also py-spy one create run")
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="then bare and ours creates alternated this many times at the fewest"
        " connections (ours: the --workers server if any), and their median ratio",
    )  # fmt: skip
    parser.add_argument(
        "--db", choices=("sqlite", "postgres"), default="sqlite",
        help="postgres: creates on PostgreSQL by server count, next to SQLite's one process",
    )  # fmt: skip
    parser.add_argument(
        "--servers",
        type=lambda text: sorted({int(c) for c in text.split(",") if c}),
        default=[1, 2, 4],
        help="with --db postgres: server process counts (default 1,2,4)",
    )
    parser.add_argument(
        "--postgres-url",
        help="with --db postgres (default: env MOCKPAY_DATABASE_URL, MOCKPAY_TEST_POSTGRES_URL,"
        " else postgresql://postgres@127.0.0.1:5432/test); the schema bench_serve is dropped",
    )
    parser.add_argument("--serve-bare", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    ok = 1 <= args.duration <= 600 and args.connections and args.workers in (0, *range(2, 17))
    ok = ok and 1 <= args.rounds <= 20
    ok = ok and all(1 <= n <= 16 for n in args.servers) and bool(args.servers)
    if not (ok and all(1 <= c <= 1024 for c in args.connections)):
        parser.error(
            "--duration is 1..600, --connections 1..1024 each, --workers 0 or 2..16,"
            " --rounds 1..20, --servers 1..16 each"
        )
    return args


def run(args: argparse.Namespace, tmp: str) -> None:
    path = functools.partial(os.path.join, tmp)
    with open(path("bench.lua"), "w", encoding="utf-8") as f:
        f.write(LUA)
    started = time.perf_counter()
    listed = make_listed_tenant(path("ours.db"))
    make_bare_db(path("bare.db"))
    print(
        f"data: {LISTED:,} payments of the listed tenant (through the engine), {LISTED:,} bare"
        f" rows; made in {time.perf_counter() - started:.0f} s (untimed)",
        flush=True,
    )
    receiver_argv = [
        sys.executable, "-m", "uvicorn", "webhooks:receiver", "--app-dir", _HERE,
        "--host", HOST, "--log-level", "warning", "--no-access-log", "--lifespan", "off",
    ]  # fmt: skip
    bare_argv = [sys.executable, os.path.realpath(__file__), "--serve-bare", path("bare.db")]
    with (
        serving(receiver_argv, path("receiver.log")) as receiver,
        serving(bare_argv, path("bare.log")) as bare,
    ):
        body = {"amount": AMOUNT, "currency": CURRENCY, "webhook_url": f"{receiver.base}/hooks"}
        wrk = Wrk(path("bench.lua"), json.dumps(body), args.duration)
        bench = functools.partial(
            Bench, wrk, bare=bare, receiver=receiver.base, db=path("ours.db"), listed=listed
        )
        figures = run_one_process(args, bench, path)
        if args.workers:
            run_workers(args, bench, figures, path)
    print(f"load average {load_average()} at the end", flush=True)


def run_one_process(
    args: argparse.Namespace, bench_for: Callable[..., Bench], path: Callable[[str], str]
) -> Figures:
    figures = Figures()
    with serving(ours_argv(path("ours.db"), 1), path("ours.log"), ours_env()) as ours:
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
    with serving(argv, path("workers.log"), ours_env()) as many:
        bench = bench_for(ours=many)
        bench.create_unique(8, WARMUP_S)
        print(f"{tag}: mockpay serve --workers {args.workers}", flush=True)
        for connections in args.connections:
            measure_workers(bench, connections, workers, tag)
        print_targets(workers, args.connections, f"mockpay serve --workers {args.workers}")
        if args.rounds > 1:
            ratio_rounds(bench, min(args.connections), args.rounds, tag)


def main() -> None:
    args = parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, args.port)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk (Debian, Ubuntu) or brew install wrk")
    print(versions(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.db == "postgres":
            from scaleout import run_postgres

            run_postgres(args, tmp)
        else:
            run(args, tmp)


if __name__ == "__main__":
    main()
