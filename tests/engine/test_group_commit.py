"""``group_commit``: units of work sharing a transaction still succeed or fail one by one."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mockpay_core import Engine, EngineConfig, SeededIds, SimulatedClock
from mockpay_core.storage.sqlite import SqliteStore

HOOK = "http://127.0.0.1:4000/hooks"


def grouped_engine(path: Path, units: int) -> tuple[Engine, SqliteStore]:
    store = SqliteStore(str(path), group_commit=units, journal="memory", durability="off")
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))
    config = EngineConfig(seed_default_fraud_rules=False)
    return Engine(store, clock=clock, ids=SeededIds(3), config=config), store


def committed_payments(path: Path) -> int:
    with sqlite3.connect(path) as outside:
        return int(outside.execute("SELECT count(*) FROM payments").fetchone()[0])


def create(engine: Engine, tenant_id: str, key: str, amount: object = 10) -> None:
    engine.create_payment(
        tenant_id, amount=amount, currency="USD", webhook_url=HOOK, idempotency_key=key
    )


def test_a_group_commits_every_n_units_and_its_writer_reads_its_own_writes(
    tmp_path: Path,
) -> None:
    db = tmp_path / "g.db"
    engine, store = grouped_engine(db, 4)
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant  # unit 1
    create(engine, tenant.id, "k1")
    create(engine, tenant.id, "k2")
    assert len(engine.list_payments(tenant.id).data) == 2  # its own writes, uncommitted
    assert committed_payments(db) == 0
    store.flush()  # another connection sees nothing until the group commits
    assert committed_payments(db) == 2
    for i in range(3, 7):
        create(engine, tenant.id, f"k{i}")  # the fourth unit of the new group commits it
    assert committed_payments(db) == 6
    store.close()


def test_a_failed_unit_undoes_only_its_own_writes(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    engine, store = grouped_engine(db, 100)
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    create(engine, tenant.id, "good-1")
    with pytest.raises(RuntimeError), store.unit_of_work():
        store.raw_connection().execute("UPDATE tenants SET name = 'Changed'")
        store.raw_connection().execute("DELETE FROM idempotency_keys")
        raise RuntimeError("dies after writing")
    create(engine, tenant.id, "good-2")
    store.close()  # close commits the open group
    with sqlite3.connect(db) as outside:
        keys = [k for (k,) in outside.execute("SELECT key FROM idempotency_keys ORDER BY key")]
        names = [n for (n,) in outside.execute("SELECT name FROM tenants")]
    assert (keys, names) == (["good-1", "good-2"], ["Acme"])
    assert committed_payments(db) == 2


def test_other_threads_commit_each_unit_once_the_group_is_flushed(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    engine, store = grouped_engine(db, 100)
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    store.flush()
    thread = threading.Thread(target=create, args=(engine, tenant.id, "from-a-thread"))
    thread.start()
    thread.join()
    assert committed_payments(db) == 1  # committed at once: only the opener groups
    store.close()


def test_group_commit_is_bounded() -> None:
    with pytest.raises(ValueError, match="group_commit"):
        SqliteStore(":memory:", group_commit=0)
