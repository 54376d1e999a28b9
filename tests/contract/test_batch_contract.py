"""The storage contract for ``Store.batch`` (units of work sharing one transaction),
``flush``, ``close`` and ``in_process``, run against every adapter."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from mockpay_core.domain.fraud import FraudRule, RuleSpec
from mockpay_core.domain.model import Customer
from mockpay_core.errors import BatchLost, StorageError
from mockpay_core.storage.open import open_store
from mockpay_core.storage.postgres import PostgresStore
from mockpay_core.storage.protocol import PaymentFilter, Store, UnitOfWork
from mockpay_core.storage.sqlite import SqliteStore
from tests.conftest import START, StoreFactory
from tests.contract.support import JOIN_TIMEOUT_S, busy_elsewhere
from tests.contract.test_endpoints_contract import endpoint
from tests.contract.test_store_contract import payment, tenant


@pytest.fixture
def seeded(store: Store) -> Store:
    with store.unit_of_work() as uow:
        uow.insert_tenant(tenant(1), "hash-1")
        uow.insert_tenant(tenant(2), "hash-2")
    return store


def ids(store: Store, tenant_id: str = "t1") -> list[str]:
    with store.reader() as r:
        return sorted(p.id for p in r.list_payments(tenant_id, PaymentFilter(), 100))


def insert(store: Store, n: int, fail: bool = False) -> None:
    with store.unit_of_work() as uow:
        uow.insert_payment(payment(n))
        if fail:
            raise RuntimeError("the unit fails after its write")


def lock_tenant(tenant_id: str, uow: UnitOfWork) -> bool:
    return uow.lock_tenant(tenant_id)


def insert_customer(store: Store, n: int) -> None:
    with store.unit_of_work() as uow:
        uow.insert_customer(Customer(f"cus_{n}", "t1", None, None, None, {}, START, START))


def test_a_failing_unit_undoes_only_itself(seeded: Store) -> None:
    with seeded.batch(["t1"]):
        insert(seeded, 1)
        insert_customer(seeded, 1)
        with pytest.raises(RuntimeError):
            insert(seeded, 2, fail=True)
        with pytest.raises(StorageError):  # a database error: the same customer again
            insert_customer(seeded, 1)
        insert(seeded, 3)
    assert ids(seeded) == ["p001", "p003"]
    with seeded.reader() as r:
        assert [c.id for c in r.list_customers("t1", 10, None)] == ["cus_1"]


def test_a_write_failing_after_its_unit_returned_is_never_kept(seeded: Store) -> None:
    """A payment's INSERT a store sends without waiting (PostgreSQL: statements.py) fails
    after its unit returned; the unit raises, undone alone, or the batch is lost whole
    (``BatchLost``); never is the batch committed as if nothing had failed."""
    lost = False
    try:
        with seeded.batch(["t1"]):
            insert(seeded, 1)
            with contextlib.suppress(StorageError):  # a database error: the same payment
                insert(seeded, 1)
            with contextlib.suppress(StorageError):  # the batch may be lost by now
                insert(seeded, 3)
    except BatchLost:
        lost = True
    assert ids(seeded) == ([] if lost else ["p001", "p003"])


def test_an_exception_out_of_the_batch_keeps_nothing(seeded: Store) -> None:
    with pytest.raises(RuntimeError), seeded.batch(["t1"]):
        insert(seeded, 1)
        insert(seeded, 2)
        raise RuntimeError("the writer dies before the commit")
    assert ids(seeded) == []
    insert(seeded, 3)  # the store still works
    assert ids(seeded) == ["p003"]


def test_a_batch_cannot_start_inside_another(seeded: Store) -> None:
    with seeded.batch():
        insert(seeded, 1)
        with pytest.raises(StorageError), seeded.batch():
            pass
        insert(seeded, 2)
    assert ids(seeded) == ["p001", "p002"]


def test_readers_inside_see_the_batch_and_outside_only_its_commit(
    seeded: Store, store_kind: str
) -> None:
    """A reader on another thread sees none of the batch's writes while it is open (on
    ``:memory:``, one connection, it waits for the batch to end), and all of them after."""
    seen: list[list[str]] = []
    outside = threading.Thread(target=lambda: seen.append(ids(seeded)))
    with seeded.batch(["t1"]):
        insert(seeded, 1)
        insert(seeded, 2)
        assert ids(seeded) == ["p001", "p002"]  # a reader in the batch sees its writes
        outside.start()
        outside.join(2.0)
        during = not outside.is_alive()
    outside.join(JOIN_TIMEOUT_S)
    assert during or store_kind == "sqlite-memory"
    assert seen == ([[]] if during else [["p001", "p002"]])
    assert ids(seeded) == ["p001", "p002"]


def test_holds_the_tenants_passed_and_no_tenant(seeded: Store) -> None:
    with seeded.batch(["t2", "t1"]) as scope:
        assert scope.holds("t1") is True
        assert scope.holds("t2") is True
        assert scope.holds(None) is True
        assert isinstance(scope.holds("t3"), bool)
    with seeded.batch() as scope:
        assert scope.holds(None) is True


def test_holds_says_which_tenants_other_writers_wait_for(shared_store: Store) -> None:
    """What a batch holds, another connection cannot lock until it ends (and what it does
    not hold, it can): the promise a server relies on to add units to an open batch."""
    with shared_store.unit_of_work() as uow:
        uow.insert_tenant(tenant(1), "hash-1")
        uow.insert_tenant(tenant(2), "hash-2")
    with shared_store.batch(["t1"]) as scope:
        for tenant_id in ("t1", "t2"):
            busy = busy_elsewhere(shared_store, functools.partial(lock_tenant, tenant_id))
            assert busy is scope.holds(tenant_id), tenant_id
        assert scope.holds("t1")
    assert not busy_elsewhere(shared_store, lambda uow: uow.lock_tenant("t1"))


@pytest.mark.parametrize("asked", ["full", "normal", "off"])
def test_durability_is_what_the_database_reports(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest, asked: str
) -> None:
    """PostgreSQL has no "off" a session can ask for: it is "normal" there."""
    if store_kind == "postgres":
        url, schema = request.getfixturevalue("postgres_schema")
        store: Store = PostgresStore(url, schema=schema, durability=asked)  # type: ignore[arg-type]
    else:
        db = ":memory:" if store_kind == "sqlite-memory" else str(tmp_path / "d.db")
        store = SqliteStore(db, durability=asked)  # type: ignore[arg-type]
    try:
        assert store.durability == (
            "normal" if (store_kind, asked) == ("postgres", "off") else asked
        )
    finally:
        store.close()


def test_in_process_is_true_only_for_sqlite(store: Store, store_kind: str) -> None:
    assert type(store.in_process) is bool
    assert store.in_process is store_kind.startswith("sqlite")


def test_flush_with_nothing_held_back_keeps_everything(seeded: Store) -> None:
    insert(seeded, 1)
    seeded.flush()
    seeded.flush()
    assert ids(seeded) == ["p001"]


@pytest.fixture(params=["sqlite-file", "postgres"])
def simulation_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database name for ``open_store(..., simulation=True)``: SQLite then commits in
    groups, and ``flush`` is what makes the group's writes visible."""
    if request.param == "sqlite-file":
        return str(tmp_path / "simulation.db")
    url, schema = request.getfixturevalue("postgres_schema")
    return f"{url}?schema={schema}"


def test_flush_makes_held_back_writes_visible_elsewhere(simulation_db: str) -> None:
    store = open_store(simulation_db, simulation=True)
    try:
        with store.unit_of_work() as uow:
            uow.insert_tenant(tenant(1), "hash-1")
        for n in (1, 2, 3):
            insert(store, n)
        store.flush()
        seen: list[list[str]] = []
        other = threading.Thread(target=lambda: seen.append(ids(store)))
        other.start()
        other.join(JOIN_TIMEOUT_S)
        assert seen == [["p001", "p002", "p003"]]
    finally:
        store.close()


def test_close_keeps_the_writes_and_refuses_more(
    store_factory: StoreFactory, store_kind: str
) -> None:
    store = store_factory()
    with store.unit_of_work() as uow:
        uow.insert_tenant(tenant(1), "hash-1")
    insert(store, 1)
    store.close()
    with pytest.raises(StorageError), store.reader() as r:
        r.get_tenant("t1")
    with pytest.raises(StorageError), store.unit_of_work() as uow:
        uow.get_tenant("t1")
    if store_kind == "sqlite-memory":
        return  # its database was the one connection
    again = store_factory()
    try:
        assert ids(again) == ["p001"]
    finally:
        again.close()


def test_close_of_a_simulation_store_commits_its_group(simulation_db: str) -> None:
    store = open_store(simulation_db, simulation=True)
    with store.unit_of_work() as uow:
        uow.insert_tenant(tenant(1), "hash-1")
    insert(store, 1)
    store.close()
    again = open_store(simulation_db)
    try:
        assert ids(again) == ["p001"]
    finally:
        again.close()


def test_a_reader_opened_in_a_unit_of_work_sees_it_as_one_in_a_batch_does(
    seeded: Store,
) -> None:
    """As the Protocol says: a reader opened inside this thread's unit reads in it."""
    with seeded.unit_of_work() as uow:
        uow.insert_payment(payment(1))
        with seeded.reader() as r:
            found = r.get_payment("t1", "p001")
    assert found == payment(1)


def test_rules_and_endpoints_written_in_a_batch_are_seen_by_its_later_units(
    seeded: Store,
) -> None:
    """A store may keep what a batch read of rules and endpoints (nobody else changes them
    while it holds the tenant): a later unit still sees what an earlier one wrote, and not
    what a rolled-back one wrote."""
    spec = RuleSpec(name="v", rule_type="velocity", threshold=Decimal(3), window_secs=5)  # type: ignore[arg-type]
    hook = endpoint(1, ["*"])
    with seeded.batch(["t1"]):
        with seeded.unit_of_work() as uow:  # read first, so a store may remember them
            assert uow.active_rules("t1") == [] and uow.endpoints_for("t1", "x") == []
        with seeded.unit_of_work() as uow:
            uow.insert_rule(FraudRule("r1", spec, START, START), None)
            uow.insert_endpoint(hook)
        with pytest.raises(RuntimeError), seeded.unit_of_work() as uow:
            assert [r.id for r in uow.active_rules("t1")] == ["r1"]
            assert [w.id for w in uow.endpoints_for("t1", "x")] == ["w1"]
            uow.insert_rule(FraudRule("r2", spec, START, START), "t1")
            uow.update_endpoint(dataclasses.replace(hook, status="disabled"))
            assert len(uow.active_rules("t1")) == 2 and uow.endpoints_for("t1", "x") == []
            raise RuntimeError("undone")
        with seeded.unit_of_work() as uow:
            assert [r.id for r in uow.active_rules("t1")] == ["r1"]
            assert [w.id for w in uow.endpoints_for("t1", "x")] == ["w1"]
