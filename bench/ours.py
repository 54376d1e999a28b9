"""Ours under load: ``mockpay serve``'s command, its tenants, and each run checked against
its database (every 201 is one payment, or one replay of it).

``Bench`` holds what one server's runs need: wrk, ours, bare, the webhook receiver, ours'
database (an SQLite file or a ``postgresql://...?schema=`` URL) and the listed tenant.
"""

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bare import PAGE
from wrk import Load, Wrk

from server.testing import ServedProcess, mockpay_argv

HOST = "127.0.0.1"
AMOUNT, CURRENCY = 49.99, "USD"
LISTED = 10_000
ADMIN_TOKEN = "bench-http-admin-token"
WARMUP_S = 1


def ours_argv(db: str, workers: int, durability: str | None = None) -> list[str]:
    more = [] if durability is None else ["--durability", durability]
    return mockpay_argv("serve", "--db", db, "--workers", str(workers), *more)


def ours_env() -> dict[str, str]:
    return {**os.environ, "MOCKPAY_ADMIN_TOKEN": ADMIN_TOKEN}


def receiver_argv() -> list[str]:
    """bench/webhooks.py's receiver under uvicorn (``serving`` adds ``--port``)."""
    return [
        sys.executable, "-m", "uvicorn", "webhooks:receiver",
        "--app-dir", os.path.dirname(os.path.realpath(__file__)),
        "--host", HOST, "--log-level", "warning", "--no-access-log", "--lifespan", "off",
    ]  # fmt: skip


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


def payments(db: str, tenant_ids: Sequence[str]) -> Counter[tuple[str, str]]:
    """Payments of these tenants on ``db`` by (tenant id, status)."""
    ids = list(tenant_ids)
    if db.startswith(("postgresql://", "postgres://")):
        import psycopg

        from mockpay_core.storage.open import split_schema

        url, schema = split_schema(db)
        with psycopg.connect(url, options=f"-c search_path={schema}") as pg:
            rows = pg.execute(
                "SELECT tenant_id, status, count(*) FROM payments WHERE tenant_id = ANY(%s)"
                " GROUP BY tenant_id, status",
                (ids,),
            ).fetchall()
    else:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            marks = ", ".join("?" * len(ids))
            rows = conn.execute(
                f"SELECT tenant_id, status, count(*) FROM payments WHERE tenant_id IN ({marks})"
                " GROUP BY tenant_id, status",
                ids,
            ).fetchall()
    return Counter({(tenant, status): n for tenant, status, n in rows})


def by_status(made: Counter[tuple[str, str]]) -> Counter[str]:
    """Payments by status, summed over the tenants."""
    found = Counter[str]()
    for (_, status), n in made.items():
        found[status] += n
    return found


def posts_received(receiver: str) -> int:
    import httpx

    return int(httpx.get(receiver + "/count", trust_env=False, timeout=10).text)


@dataclass(frozen=True, slots=True)
class Bench:
    wrk: Wrk
    ours: ServedProcess
    bare: ServedProcess
    receiver: str  # the webhook receiver's base URL
    db: str  # ours' database: a file, or a postgresql://...?schema= URL
    listed: Tenant
    backends: Callable[[], dict[int, int] | None] | None = None  # CPU ticks of its backends, by pid

    def create_url(self) -> str:
        return f"{self.ours.url}/api/payments"

    def list_url(self) -> str:
        return f"{self.ours.url}/api/payments?limit={PAGE}"

    def bare_create(self, connections: int, duration_s: int | None = None) -> Load:
        url = f"{self.bare.url}/payments"
        return self.wrk.run(url, self.bare, connections, "unique", "bare", duration_s=duration_s)

    def bare_list(self, connections: int, duration_s: int | None = None) -> Load:
        url = f"{self.bare.url}/payments?limit={PAGE}"
        return self.wrk.run(url, self.bare, connections, "get", duration_s=duration_s)

    def ours_list(self, connections: int, duration_s: int | None = None) -> Load:
        keys = [self.listed.api_key]
        return self.wrk.run(
            self.list_url(), self.ours, connections, "get", api_keys=keys, duration_s=duration_s
        )

    def create_unique(
        self, connections: int, duration_s: int | None = None, tenants: int = 1
    ) -> tuple[Load, str]:
        """For ``tenants`` fresh tenants (each request from a random one), so that every run
        starts from the same fraud-window state."""
        made_for = [register(self.ours.url, f"bench-{time.monotonic_ns()}") for _ in range(tenants)]
        before = posts_received(self.receiver)
        load = self.wrk.run(
            self.create_url(), self.ours, connections, "unique", made_for[0].id,
            [t.api_key for t in made_for], duration_s, self.backends,
        )  # fmt: skip
        webhooks = posts_received(self.receiver) - before
        found = payments(self.db, [t.id for t in made_for])
        made = by_status(found)
        # wrk stops with up to ``connections`` requests in flight, which the server completes
        if not load.ok <= made.total() <= load.ok + connections:
            sys.exit(f"{load.ok:,} answered 201 but {made.total():,} payments were made: {made}")
        states = ", ".join(f"{n:,} {status}" for status, n in made.most_common())
        spread = f" over {len({t for t, _ in found})} of {tenants} tenants" if tenants > 1 else ""
        return load, (
            f"{made.total():,} payments{spread} ({states}), {webhooks:,} webhooks delivered"
        )

    def create_same(self, connections: int) -> tuple[Load, str]:
        tenant = register(self.ours.url, f"bench-{time.monotonic_ns()}")
        load = self.wrk.run(
            self.create_url(), self.ours, connections, "same", "same-key", [tenant.api_key]
        )
        made = payments(self.db, [tenant.id]).total()
        if made != 1 or load.replayed != load.ok - 1:
            sys.exit(f"one key: {made} payments, {load.replayed:,} replays of {load.ok:,} 201s")
        return load, f"1 payment, {load.replayed:,} replays (Idempotent-Replayed)"


@dataclass(slots=True)
class Figures:
    """Runs by (scenario, connections), for the targets."""

    ours: dict[tuple[str, int], Load] = field(default_factory=dict)
    bare: dict[tuple[str, int], Load] = field(default_factory=dict)


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


def check_endpoints(b: Bench) -> None:
    """One request of each kind, untimed: exit unless each answers as the runs expect."""
    import httpx

    tenant = register(b.ours.url, "bench-check")
    auth = {"Authorization": f"Bearer {tenant.api_key}"}
    body, key = json.loads(b.wrk.body), {"Idempotency-Key": "check"}
    with httpx.Client(trust_env=False, timeout=10) as c:
        first = c.post(b.create_url(), json=body, headers={**auth, **key})
        again = c.post(b.create_url(), json=body, headers={**auth, **key})
        page = c.get(b.list_url(), headers={"Authorization": f"Bearer {b.listed.api_key}"})
        bare = c.post(f"{b.bare.url}/payments", json=body, headers=key)
        bare_page = c.get(f"{b.bare.url}/payments?limit={PAGE}")
    for r, status in [(first, 201), (again, 201), (page, 200), (bare, 201), (bare_page, 200)]:
        if r.status_code != status:
            sys.exit(f"{r.request.method} {r.request.url} answered {r.status_code}: {r.text}")
    if again.headers.get("Idempotent-Replayed") != "true":
        sys.exit("the second POST with one Idempotency-Key was not a replay")
    if len(page.json()["data"]) != PAGE or len(bare_page.json()["data"]) != PAGE:
        sys.exit(f"pages of {PAGE} expected: {page.text[:200]} / {bare_page.text[:200]}")
