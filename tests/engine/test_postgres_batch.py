"""PostgreSQL's batch pipelines its statements: errors still belong to the unit that made them.

In a batch, statements are sent without waiting for their answers until one is needed, and
each unit waits for its own at its end. These tests make a unit fail in the database (not in
Python) and roll a unit back after it extended the audit chain, and check that only that
unit is undone and the chain stays whole.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mockpay_core import Engine, EngineConfig, SeededIds, SimulatedClock
from mockpay_core.domain.model import Customer
from mockpay_core.errors import BatchLost, StorageError
from mockpay_core.storage.postgres import PostgresStore

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))  # bench/batch.py counts what psycopg sends and waits for

from batch import counting_postgres  # noqa: E402

HOOK = "http://127.0.0.1:4000/hooks"
START = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def engine(postgres_schema: tuple[str, str]) -> Iterator[Engine]:
    url, schema = postgres_schema
    store = PostgresStore(url, schema=schema, busy_timeout_s=0.5)
    clock = SimulatedClock(START)
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


def customer(tenant_id: str) -> Customer:
    return Customer("cus_1", tenant_id, None, "Ann", None, {}, START, START)


def test_a_database_error_a_unit_waits_for_undoes_only_its_unit(engine: Engine) -> None:
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    store = engine.store
    with store.batch([tenant.id]):
        first = create(engine, tenant.id, "k1")
        with store.unit_of_work() as uow:
            uow.insert_customer(customer(tenant.id))
        # An INSERT that is not held may fail: its unit waits for its answer, and fails.
        with pytest.raises(StorageError), store.unit_of_work() as uow:
            uow.insert_customer(customer(tenant.id))  # the same id again
        third = create(engine, tenant.id, "k3")
    assert payments(engine, tenant.id) == sorted([first, third])
    with store.reader() as reader:
        assert [c.id for c in reader.list_customers(tenant.id, 10, None)] == ["cus_1"]
    assert engine.verify_audit(tenant.id).ok


@pytest.mark.parametrize("last", [False, True], ids=["then-another-unit", "then-commit"])
def test_a_held_insert_that_fails_after_its_unit_returned_loses_the_batch(
    engine: Engine, last: bool
) -> None:
    """A held INSERT cannot fail under its unit's locks; one that does all the same (here
    a payment's id inserted twice) is heard of after its unit returned: the batch is lost,
    nothing of it is kept, and it says so (``BatchLost``: its units may run again)."""
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    store = engine.store
    with pytest.raises(BatchLost), store.batch([tenant.id]):
        first = create(engine, tenant.id, "k1")
        with store.unit_of_work() as uow:
            found = uow.get_payment(tenant.id, first)
            assert found is not None
            uow.insert_payment(replace(found, idempotency_key="other"))  # the same id again
        if not last:
            with pytest.raises(StorageError):
                create(engine, tenant.id, "k3")
    assert payments(engine, tenant.id) == []
    assert engine.verify_audit(tenant.id).ok


def test_a_batch_of_creates_waits_once_per_create(engine: Engine) -> None:
    """The idempotency record, the velocity window and the previous create's writes come
    back in one answer: a create in a batch waits once, and the COMMIT once. The tenant's
    lock is the key's: no key lock is sent."""
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    spec = {"name": "v", "rule_type": "velocity", "threshold": 100, "window_secs": 60}
    engine.create_fraud_rule(spec, tenant.id)
    store = engine.store
    with counting_postgres() as seen, store.batch([tenant.id]):
        for n in range(5):
            create(engine, tenant.id, f"k{n}")
    assert seen["waits"] == 1 + 5 + 1  # the locks and heads, each create, the COMMIT
    # BEGIN, the locks, heads, rules and endpoints; then for each create one read (its
    # velocity window and its idempotency record) and one statement of its six INSERTs (the
    # first too: a tenant without audit rows has its head known, none); the COMMIT.
    assert seen["statements"] == 5 + 5 * 2 + 1
    assert len(payments(engine, tenant.id)) == 5


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
