"""PostgreSQL's batch pipelines its statements: errors still belong to the unit that made them.

In a batch, statements are sent without waiting for their answers until one is needed, and
each unit waits for its own at its end. These tests make a unit fail in the database (not in
Python), hold an idempotency key from another transaction, and roll a unit back after it
extended the audit chain, and check that only that unit is undone and the chain stays whole.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from mockpay_core import Engine, EngineConfig, SeededIds, SimulatedClock
from mockpay_core.errors import IdempotencyKeyInUse, StorageError
from mockpay_core.storage.postgres import PostgresStore

HOOK = "http://127.0.0.1:4000/hooks"


@pytest.fixture
def engine(postgres_schema: tuple[str, str]) -> Iterator[Engine]:
    url, schema = postgres_schema
    store = PostgresStore(url, schema=schema, busy_timeout_s=0.5)
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))
    config = EngineConfig(seed_default_fraud_rules=False)
    made = Engine(store, clock=clock, ids=SeededIds(4), config=config)
    yield made
    made.close()


def create(engine: Engine, tenant_id: str, key: str) -> str:
    out = engine.create_payment(
        tenant_id, amount=10, currency="USD", webhook_url=HOOK, idempotency_key=key
    )
    return out.value.id


def payments(engine: Engine, tenant_id: str) -> list[str]:
    return sorted(p.id for p in engine.list_payments(tenant_id, limit=100).data)


def test_a_database_error_undoes_only_its_unit(engine: Engine) -> None:
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    store = engine.store
    with store.batch([tenant.id]):
        first = create(engine, tenant.id, "k1")
        with pytest.raises(StorageError), store.unit_of_work() as uow:
            found = uow.get_payment(tenant.id, first)
            assert found is not None
            uow.insert_payment(replace(found, idempotency_key="other"))  # the same id again
        third = create(engine, tenant.id, "k3")
    assert payments(engine, tenant.id) == sorted([first, third])
    assert engine.verify_audit(tenant.id).ok


def test_the_chain_head_of_a_rolled_back_unit_is_forgotten(engine: Engine) -> None:
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    store = engine.store
    with store.batch([tenant.id]):
        first = create(engine, tenant.id, "k1")
        with pytest.raises(RuntimeError), store.unit_of_work():
            create(engine, tenant.id, "k2")  # joins this unit: extends the chain, then undone
            raise RuntimeError("the command fails after its audit row")
        third = create(engine, tenant.id, "k3")
    assert payments(engine, tenant.id) == sorted([first, third])
    chain = engine.verify_audit(tenant.id)
    assert chain.ok and chain.rows_checked == 2


def test_a_key_another_transaction_holds_is_in_use_and_the_batch_goes_on(engine: Engine) -> None:
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    store = engine.store
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.unit_of_work() as uow:
            uow.lock_idempotency_key(tenant.id, "busy")
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    try:
        with store.batch([tenant.id]):
            with pytest.raises(IdempotencyKeyInUse):
                create(engine, tenant.id, "busy")
            kept = create(engine, tenant.id, "free")
    finally:
        release.set()
        holder.join(10)
    assert payments(engine, tenant.id) == [kept]
    assert engine.verify_audit(tenant.id).ok
