"""Two ``mockpay serve`` processes and two ``mockpay worker``s on one PostgreSQL database:
what SQLite's single writer gave for free must hold between processes."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.delivery.receiver import running_receiver
from tests.scaleout.cluster import (
    ADMIN,
    connect,
    create_retrying,
    register,
    servers,
    start_worker,
    stop,
)

SAME_KEY_CALLS = 64
BURST = 100
VELOCITY_MAX = 5  # the default "Velocity check" rule: 5 a minute per tenant
WAIT_S_MAX = 90


def all_at_once(n: int, call: Any) -> list[Any]:
    """``call(i)`` for i < n from n threads released together."""
    gate = threading.Barrier(n)

    def run(i: int) -> Any:
        gate.wait()
        return call(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_two_servers_two_workers_one_database(pg_db: str) -> None:
    with servers(pg_db, 2) as (a, b), running_receiver() as receiver:
        urls = [a.url, b.url]
        admin = {"Authorization": f"Bearer {ADMIN}"}
        rules = httpx.get(f"{a.url}/api/admin/fraud-rules", headers=admin).json()
        assert rules["total"] == 2  # both servers seeded the defaults on a new database: once
        body = {"amount": 10, "currency": "USD", "webhook_url": receiver.url}

        auth, _ = register(a.url, "same-key")

        def same_key(i: int) -> httpx.Response:
            url = urls[i % 2]
            return httpx.post(f"{url}/api/payments", json=body, timeout=60,
                              headers={**auth, "Idempotency-Key": "one-order"})  # fmt: skip

        answers = all_at_once(SAME_KEY_CALLS, same_key)
        final = [r for r in answers if r.status_code != 409]
        assert all(r.status_code == 201 for r in final), {r.status_code for r in final}
        assert final and all(r.json() == final[0].json() for r in final)
        conflicts = [r.json()["code"] for r in answers if r.status_code == 409]
        assert set(conflicts) <= {"idempotency_key_in_use"}
        assert len(httpx.get(f"{b.url}/api/payments", headers=auth).json()["data"]) == 1

        burst_auth, _ = register(b.url, "burst")
        statuses = all_at_once(
            BURST,
            lambda i: create_retrying(urls, burst_auth, f"burst-{i}", body, first=i).json()[
                "status"
            ],
        )
        assert Counter(statuses) == {"pending": VELOCITY_MAX, "flagged": BURST - VELOCITY_MAX}

        for pid in [r.json()["payment_id"] for r in final[:1]]:
            r = httpx.post(f"{a.url}/api/payments/{pid}/simulate", headers=auth,
                           json={"status": "success"})  # fmt: skip
            assert r.status_code == 200, r.text
        workers = [start_worker(pg_db, "--batch-size", "3") for _ in range(2)]
        try:
            with connect(pg_db) as conn:
                (events,) = conn.execute("SELECT count(*) FROM events").fetchone()  # type: ignore[misc]
                deadline = time.monotonic() + WAIT_S_MAX
                while len(receiver.ids()) < events or conn.execute(
                    "SELECT count(*) FROM deliveries WHERE status <> 'delivered'"
                ).fetchone() != (0,):
                    assert time.monotonic() < deadline, "the workers did not deliver everything"
                    time.sleep(0.1)
                    conn.rollback()
                attempts = conn.execute(
                    "SELECT count(*), count(DISTINCT event_id) FROM delivery_attempts"
                ).fetchone()
                owners = conn.execute(
                    "SELECT count(DISTINCT lease_owner) FROM deliveries"
                ).fetchone()
        finally:
            for w in workers:
                stop(w)
        # No delivery claimed twice: one attempt per event, each sent once.
        assert attempts == (events, events)
        assert (
            sorted(receiver.ids()) == sorted(set(receiver.ids())) and len(receiver.ids()) == events
        )
        assert owners == (0,)  # every lease settled
