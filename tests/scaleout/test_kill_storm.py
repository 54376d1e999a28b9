"""Kill storm: SIGKILL a server every 0.5-2 s while clients create payments through two
servers, retrying with the same keys until they get an answer. Whatever was acknowledged
survives, nothing happens twice, and the audit log and outbox match the payments exactly."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from mockpay_core import Engine, EngineConfig
from mockpay_core.domain.states import Action, Status, transition
from tests.scaleout.cluster import ADMIN, connect, create_retrying, register, servers

CLIENTS = 16
SIMULATE_EVERY = 4  # every 4th payment also succeeds (a second transition, a second event)


@pytest.mark.parametrize(
    "creates",
    # The 5,000 take minutes on two cores (servers spend much of the storm restarting):
    # a short storm in every run, the full one with -m scale.
    [500, pytest.param(5000, marks=pytest.mark.scale)],
)
def test_kill_storm_loses_and_duplicates_nothing(pg_db: str, creates: int) -> None:
    with servers(pg_db, 2) as cluster:
        urls = [s.url for s in cluster]
        admin = {"Authorization": f"Bearer {ADMIN}"}
        for rule in httpx.get(f"{urls[0]}/api/admin/fraud-rules", headers=admin).json()["rules"]:
            httpx.delete(f"{urls[0]}/api/admin/fraud-rules/{rule['id']}", headers=admin)
        tenants = [register(urls[0], "storm-a"), register(urls[1], "storm-b")]
        acked: dict[str, str] = {}
        kills = 0
        calm = threading.Event()

        def storm() -> None:
            nonlocal kills
            rng = random.Random(6)
            while not calm.wait(rng.uniform(0.5, 2.0)):
                victim = rng.choice(cluster)
                victim.kill()
                kills += 1
                victim.start()  # the same port; clients retry meanwhile

        def client(first: int) -> None:
            for n in range(first, creates, CLIENTS):
                auth, _ = tenants[n % 2]
                key = f"storm-{n}"
                body = {"amount": 1 + n % 500, "currency": "USD",
                        "webhook_url": "http://127.0.0.1:9/hooks"}  # fmt: skip
                r = create_retrying(urls, auth, key, body, first=n)
                assert r.status_code == 201, r.text
                acked[key] = r.json()["payment_id"]
                if n % SIMULATE_EVERY == 0:
                    path = f"/api/payments/{acked[key]}/simulate"
                    success = {"status": "success"}
                    done = create_retrying(urls, auth, f"sim-{n}", success, first=n, path=path)
                    assert done.status_code == 200, done.text

        stormer = threading.Thread(target=storm)
        stormer.start()
        try:
            with ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(client, range(CLIENTS)))
        finally:
            calm.set()
            stormer.join()
        for s in cluster:
            s.wait_ready()

    assert kills >= 3, "the storm was too short to kill anything"
    with connect(pg_db) as conn:
        rows = conn.execute("SELECT idempotency_key, id, status FROM payments").fetchall()
        audit = conn.execute("SELECT old_status, action, new_status FROM audit_log").fetchall()
        (events,) = conn.execute("SELECT count(*) FROM events").fetchone()  # type: ignore[misc]
    stored = {key: pid for key, pid, _ in rows}
    assert len(rows) == len(stored) == creates  # no key made two payments
    assert all(stored[key] == pid for key, pid in acked.items())  # nothing acknowledged lost
    simulated = len(range(0, creates, SIMULATE_EVERY))
    assert Counter(status for *_, status in rows) == {
        "success": simulated,
        "pending": creates - simulated,
    }
    assert len(audit) == creates + simulated  # one audit row per transition
    notified = sum(
        transition(Status(old) if old else None, Action(action), Status(new)).event is not None
        for old, action, new in audit
    )
    assert events == notified  # one outbox event per notified change
    engine = Engine.open(pg_db, config=EngineConfig(seed_default_fraud_rules=False))
    try:
        for _, tenant_id in tenants:
            assert engine.verify_audit(tenant_id).ok
    finally:
        engine.close()
