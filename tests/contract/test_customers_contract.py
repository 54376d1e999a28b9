"""The storage contract for Customers, run against every adapter in
``tests.conftest.STORES``."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from mockpay_core.domain.model import Customer
from mockpay_core.storage.protocol import Store
from tests.conftest import START
from tests.contract.test_store_contract import tenant


def customer(n: int, email: str | None = None, tenant_id: str = "t1") -> Customer:
    at = START + timedelta(seconds=n)
    return Customer(f"c{n}", tenant_id, email, f"name {n}", None, {"n": str(n)}, at, at)


@pytest.fixture
def customers(store: Store) -> Store:
    with store.unit_of_work() as uow:
        uow.insert_tenant(tenant(1), "hash-1")
        uow.insert_tenant(tenant(2), "hash-2")
        for n in range(1, 4):
            uow.insert_customer(customer(n, "a@x.test" if n != 2 else "b@x.test"))
        uow.insert_customer(customer(4, "a@x.test", tenant_id="t2"))
    return store


def test_customers_are_read_back_newest_first_and_by_email(customers: Store) -> None:
    with customers.reader() as r:
        assert r.get_customer("t1", "c2") == customer(2, "b@x.test")
        assert r.get_customer("t2", "c2") is None
        assert [c.id for c in r.list_customers("t1", 10, None)] == ["c3", "c2", "c1"]
        assert [c.id for c in r.list_customers("t1", 2, None)] == ["c3", "c2"]
        assert [c.id for c in r.list_customers("t1", 10, "a@x.test")] == ["c3", "c1"]
        assert [c.id for c in r.list_customers("t2", 10, "a@x.test")] == ["c4"]


def test_update_customer_and_a_deleted_one(customers: Store) -> None:
    later = START + timedelta(seconds=30)
    changed = dataclasses.replace(
        customer(1, "a@x.test"), email="new@x.test", name=None, description="vip",
        metadata={}, updated_at=later,
    )  # fmt: skip
    with customers.unit_of_work() as uow:
        uow.update_customer(changed)
        uow.update_customer(dataclasses.replace(customer(3, "a@x.test"), deleted_at=later))
        assert uow.get_customer("t1", "c1") == changed
    with customers.reader() as r:
        assert r.get_customer("t1", "c1") == changed
        gone = r.get_customer("t1", "c3")
        assert gone is not None and gone.deleted_at == later
        assert [c.id for c in r.list_customers("t1", 10, None)] == ["c2", "c1"]
        assert r.list_customers("t1", 10, "a@x.test") == []
