"""SIGKILL a worker mid-delivery: after a restart every committed event arrives at least
once, with its original webhook-id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mockpay_core import Engine, EngineConfig
from tests.delivery.receiver import running_receiver

EVENTS = 150
WAIT_S_MAX = 90


def start_worker(db: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mockpay_core.cli", "worker", "--db", db,
         "--batch-size", "5", "--timeout-s", "0.5", "--lease-margin-s", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def wait_for(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT_S_MAX
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture(params=["sqlite-file", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database name processes share: an SQLite file, or a PostgreSQL schema."""
    if request.param == "postgres":
        url, schema = request.getfixturevalue("postgres_schema")
        return f"{url}?schema={schema}"
    return str(tmp_path / "kill.db")


def test_a_killed_worker_loses_nothing(db: str) -> None:
    with running_receiver(delay_s=0.01) as receiver:
        engine = Engine.open(db, config=EngineConfig(seed_default_fraud_rules=False))
        tenant = engine.register_tenant("Acme", "dev@acme.test").tenant
        for i in range(EVENTS):
            p = engine.create_payment(
                tenant.id, amount=10, currency="USD", webhook_url=receiver.url,
                idempotency_key=f"k{i}",
            ).value  # fmt: skip
            engine.simulate(tenant.id, p.id, "success")
        emitted = {e.id for e in engine.events(tenant.id, limit=1000)}

        worker = start_worker(db)
        wait_for(lambda: len(receiver.ids()) >= 30, "the first deliveries")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        sent_before_restart = len(receiver.ids())
        assert sent_before_restart < EVENTS, "the worker finished before it could be killed"

        worker = start_worker(db)
        try:
            # Every delivery recorded, those the killed worker held once their lease ran out:
            # waiting only for the receiver would stop the worker before it re-sends them.
            wait_for(
                lambda: engine.metrics()["webhooks"]["by_status"]["delivered"] == EVENTS,  # type: ignore[index]
                "every delivery to be recorded after the restart",
            )
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=10)
        assert set(receiver.ids()) == emitted  # only original ids, every one of them
        engine.close()
