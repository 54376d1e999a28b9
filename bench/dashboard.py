"""Dashboard pages' server time with many payments, next to the API's list route.

    .venv/bin/python bench/dashboard.py [--n 100000] [--rounds 15] [--db PATH]

Seeds one tenant with ``--n`` payments on an SQLite file (through the engine, on a simulated
clock over a week: most succeed, some are refunded, each success queues a webhook event,
none delivered: the webhooks page's delivered and dead sections find nothing, their worst
case), unless ``--db`` already holds such a run. Then the app
``mockpay serve`` runs is called in-process (httpx's ASGI transport: no sockets, so what is
timed is the server's work for the request), signed in as the tenant and as the admin. For
each page: the median over ``--rounds`` requests, after one warm-up; ``ratio`` is the page's
median over the API's ``GET /api/payments?limit=25`` median measured in the same run. The
target is < 100 ms a page (issue 20). The metrics pages cost what ``GET /api/admin/metrics``
costs (its counts scan the tables), so that route is measured too, for reference.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

import httpx

from mockpay_core import Engine, SeededIds, SimulatedClock
from mockpay_core.config import EngineConfig
from mockpay_core.storage.open import open_store
from server import create_app
from server.settings import Settings

START: Final = datetime(2026, 1, 1, tzinfo=UTC)
TARGET_MS: Final = 100.0
ADMIN: Final = "bench-admin-token-0123456789"
WORDS: Final = ("shoes", "hat", "coffee", "books", "bicycle", "lamp", "tea", "desk")


def seed(db: Path, n: int) -> str:
    """``n`` payments of one tenant; returns its API key."""
    rng, clock = random.Random(20), SimulatedClock(START)
    store = open_store(str(db), simulation=True)
    config = EngineConfig(seed_default_fraud_rules=False)
    with Engine(store, clock=clock, ids=SeededIds(20), config=config) as engine:
        new = engine.register_tenant("Bench", "bench@shop.test")
        tenant, gap_s = new.tenant.id, 7 * 86400 / n
        for i in range(n):  # the simulation store commits in groups
            clock.advance(timedelta(seconds=rng.expovariate(1 / gap_s)))
            _one(engine, tenant, i, rng)
        store.flush()
    return new.api_key


def _one(engine: Engine, tenant: str, i: int, rng: random.Random) -> None:
    amount = Decimal(rng.randrange(100, 50_000)) / 100
    p = engine.create_payment(
        tenant, amount=amount, currency=rng.choice(("USD", "EUR")),
        webhook_url="http://127.0.0.1:9/hooks", idempotency_key=f"bench-{i}",
        customer=f"cus_{rng.randrange(5000)}",
        description=f"order {i}: {rng.choice(WORDS)} x{rng.randrange(1, 5)}",
    ).value  # fmt: skip
    if rng.random() < 0.9:
        engine.simulate(tenant, p.id, "success")
        if rng.random() < 0.1:
            engine.refund(tenant, p.id, (amount / 2).quantize(Decimal("0.01")))


async def median_ms(client: httpx.AsyncClient, path: str, rounds: int, **kw: object) -> float:
    r = await client.get(path, **kw)  # type: ignore[arg-type]
    if r.status_code != 200:
        raise SystemExit(f"GET {path}: {r.status_code} {r.text[:300]}")
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        r = await client.get(path, **kw)  # type: ignore[arg-type]
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    return statistics.median(times)


async def sign_in(client: httpx.AsyncClient, key: str) -> None:
    login = await client.get("/dashboard/login")
    token = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    r = await client.post("/dashboard/login", data={"key": key, "csrf": token})
    if r.status_code != 303:
        raise SystemExit(f"sign-in failed: {r.status_code}")


async def measure(db: Path, key: str, rounds: int) -> list[tuple[str, float]]:
    settings = Settings(db=str(db), admin_token=ADMIN, clock="simulated", deliver_webhooks=False,
                        default_fraud_rules=False)  # fmt: skip
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    base = "http://mockpay"
    async with (
        httpx.AsyncClient(transport=transport, base_url=base) as api,
        httpx.AsyncClient(transport=transport, base_url=base) as tenant,
        httpx.AsyncClient(transport=transport, base_url=base) as admin,
    ):
        await sign_in(tenant, key)
        await sign_in(admin, ADMIN)
        auth = {"Authorization": f"Bearer {key}"}
        first = (await api.get("/api/payments?limit=25", headers=auth)).json()
        pid, cursor = first["data"][0]["id"], first["next_cursor"]
        api_ms = await median_ms(api, "/api/payments?limit=25", rounds, headers=auth)
        rows = [("API GET /api/payments?limit=25", api_ms)]
        pages = {
            "payments (first page)": (tenant, "/dashboard/payments"),
            "payments, a cursor page": (tenant, f"/dashboard/payments?cursor={cursor}"),
            "payments, status=refunded": (tenant, "/dashboard/payments?status=refunded"),
            "payments, currency=EUR": (tenant, "/dashboard/payments?currency=EUR"),
            "payments, search 'bicycle'": (tenant, "/dashboard/payments?q=bicycle"),
            "payments, search with no match": (tenant, "/dashboard/payments?q=zzz-none"),
            "payment page": (tenant, f"/dashboard/payments/{pid}"),
            "webhooks": (tenant, "/dashboard/webhooks"),
            "metrics (tenant)": (tenant, "/dashboard/metrics"),
            "metrics (admin)": (admin, "/dashboard/metrics"),
            "fraud rules (admin)": (admin, "/dashboard/rules"),
            "clock (admin)": (admin, "/dashboard/clock"),
        }
        for name, (client, path) in pages.items():
            rows.append((name, await median_ms(client, path, rounds)))
        admin_auth = {"Authorization": f"Bearer {ADMIN}"}
        metrics_ms = await median_ms(api, "/api/admin/metrics", rounds, headers=admin_auth)
        rows.append(("API GET /api/admin/metrics (reference)", metrics_ms))
    app.state.calls.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="payments (default 100,000)")
    parser.add_argument("--rounds", type=int, default=15, help="requests per page (default 15)")
    parser.add_argument("--db", help="an SQLite file to seed, or to reuse when it has --n payments")
    args = parser.parse_args()
    db = Path(args.db or Path(tempfile.gettempdir()) / f"mockpay-bench-dashboard-{args.n}.db")
    key_file = db.with_suffix(".key")
    if not (db.exists() and key_file.exists()):
        db.unlink(missing_ok=True)
        t0 = time.perf_counter()
        key_file.write_text(seed(db, args.n))
        print(f"seeded {args.n:,} payments in {time.perf_counter() - t0:.0f} s: {db}")
    rows = asyncio.run(measure(db, key_file.read_text(), args.rounds))
    api_ms = rows[0][1]
    print(f"{'page':40} {'median ms':>10} {'ratio to API':>13}  target < {TARGET_MS:.0f} ms")
    slow = 0
    for name, ms in rows:
        verdict = "" if ms < TARGET_MS else "  OVER"
        slow += ms >= TARGET_MS
        print(f"{name:40} {ms:10.2f} {ms / api_ms:13.2f}{verdict}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
