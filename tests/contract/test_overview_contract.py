"""The storage contract for the reads the dashboard draws from: payments found by text, the
newest deliveries, payments per minute and the newest fraud decisions, on every adapter in
``tests.conftest.STORES``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mockpay_core import Status
from mockpay_core.domain.fraud import FraudDecision, Outcome
from mockpay_core.domain.retry import DeliveryStatus
from mockpay_core.errors import ValidationError
from mockpay_core.storage.protocol import PaymentFilter, Store
from tests.conftest import START
from tests.contract.test_deliveries_contract import claim, event, finish, publish
from tests.contract.test_store_contract import payment, tenant

S = timedelta(seconds=1)


@pytest.fixture
def two(store: Store) -> Store:
    with store.unit_of_work() as uow:
        uow.insert_tenant(tenant(1), "hash-1")
        uow.insert_tenant(tenant(2), "hash-2")
    return store


def test_search_finds_text_in_description_or_customer_in_any_case(two: Store) -> None:
    with two.unit_of_work() as uow:
        uow.insert_payment(payment(1, description="Blue Shoes", seconds=1))
        uow.insert_payment(payment(2, customer="cus_SHOEBOX", seconds=2))
        uow.insert_payment(payment(3, description="100% wool_hat", seconds=3))
        uow.insert_payment(payment(4, description="1000 wool hats", seconds=4))
        uow.insert_payment(payment(5, description="shoes", tenant_id="t2", seconds=5))
    with two.reader() as r:

        def found(text: str, **kw: object) -> list[str]:
            where = PaymentFilter(search=text, **kw)  # type: ignore[arg-type]
            return [p.id for p in r.list_payments("t1", where, 10)]

        assert found("shoe") == ["p002", "p001"]  # newest first; t2's is not t1's
        assert found("100%") == ["p003"]  # % is itself, not any text
        assert found("l_h") == ["p003"]  # and so is _
        assert found("shoe", status="success") == []
        assert found("shoe", before=(START + 2 * S, "p002")) == ["p001"]
        assert found("nothing like it") == []


def test_each_status_comes_in_its_own_order(two: Store) -> None:
    with two.unit_of_work() as uow:
        uow.insert_payment(payment(1))
        uow.insert_payment(payment(2))
    publish(two, event(1, 1), event(2, 2, seconds=1), event(3, 1, seconds=2))
    claim(two, START + 10 * S)  # e1 and e2: e3 waits for e1, its payment's
    finish(two, "e2", DeliveryStatus.DEAD, START + 12 * S, dead_reason="gone")
    finish(two, "e1", DeliveryStatus.DEAD, START + 13 * S, dead_reason="gone")
    with two.reader() as r:
        assert [d.event_id for d in r.recent_deliveries("t1", "dead", 10)] == ["e1", "e2"]
        assert [d.event_id for d in r.recent_deliveries("t1", "pending", 10)] == ["e3"]
        assert [d.event_id for d in r.recent_deliveries(None, "dead", 1)] == ["e1"]


def test_a_lower_bound_limits_how_far_back_the_filters_look(two: Store) -> None:
    with two.unit_of_work() as uow:
        for n in range(1, 7):  # p006 newest; the even ones are hats
            uow.insert_payment(payment(n, seconds=n, description="hat" if n % 2 else "shoe"))
        uow.insert_payment(payment(9, seconds=9, tenant_id="t2", description="shoe"))
    with two.reader() as r:

        def found(**kw: object) -> list[str]:
            where = PaymentFilter(**kw)  # type: ignore[arg-type]
            return [p.id for p in r.list_payments("t1", where, 10)]

        p4, p2 = (START + 4 * S, "p004"), (START + 2 * S, "p002")
        assert found(search="shoe", down_to=p4) == ["p006", "p004"]  # p006 down to p004
        assert found(search="shoe", down_to=(START + 5 * S, "p005")) == ["p006"]
        assert found(search="shoe", before=p4, down_to=p2) == ["p002"]
        assert found(search="hat", down_to=(START, "p000")) == ["p005", "p003", "p001"]
        assert r.payment_key("t1", None, 0) == (START + 6 * S, "p006")
        assert r.payment_key("t1", (START + 4 * S, "p004"), 1) == (START + 2 * S, "p002")
        assert r.payment_key("t1", None, 6) is None
        assert r.payment_key("t2", None, 1) is None


def test_recent_deliveries_are_newest_first_by_status_and_tenant(two: Store) -> None:
    with two.unit_of_work() as uow:
        uow.insert_payment(payment(1))
        uow.insert_payment(payment(2))
        uow.insert_payment(payment(6, tenant_id="t2"))
    publish(two, event(1, 1), event(2, 2, seconds=1), event(3, 6, seconds=2, tenant_id="t2"))
    assert [c.event_id for c in claim(two, START + 10 * S)] == ["e1", "e2", "e3"]
    finish(two, "e1", DeliveryStatus.DELIVERED, START + 11 * S)
    with two.reader() as r:
        assert [d.event_id for d in r.recent_deliveries("t1", None, 10)] == ["e2", "e1"]
        assert [d.event_id for d in r.recent_deliveries(None, None, 2)] == ["e3", "e2"]
        delivered = r.recent_deliveries("t1", "delivered", 10)
        assert [(d.event_id, d.status) for d in delivered] == [("e1", DeliveryStatus.DELIVERED)]
        assert [d.event_id for d in r.recent_deliveries("t1", "delivering", 10)] == ["e2"]
        assert r.recent_deliveries("t2", "delivered", 10) == []
        with pytest.raises(ValidationError, match="status"):
            r.recent_deliveries("t1", "x' OR '1' = '1", 10)  # never spliced into the SQL


def test_payments_per_minute_count_each_minute_and_status(two: Store) -> None:
    rows = [
        payment(1, seconds=0),  # minute 0: on the boundary itself
        payment(2, seconds=59),  # still minute 0
        payment(3, Status.FAILED, seconds=60),  # minute 1
        payment(4, seconds=185),  # minute 3
        payment(5, seconds=-1),  # before: not counted
        payment(6, seconds=61, tenant_id="t2"),
    ]
    with two.unit_of_work() as uow:
        for p in rows:
            uow.insert_payment(p)
    with two.reader() as r:
        assert r.payments_per_minute("t1", START) == [
            (0, "pending", 2), (1, "failed", 1), (3, "pending", 1),
        ]  # fmt: skip
        assert r.payments_per_minute(None, START) == [
            (0, "pending", 2), (1, "failed", 1), (1, "pending", 1), (3, "pending", 1),
        ]  # fmt: skip


def test_recent_decisions_are_those_on_the_tenants_newest_payments(two: Store) -> None:
    evaluated = ({"rule_id": "r1", "name": "big", "observed": 900, "fired": True},)
    p1, p2, p3 = payment(1), payment(2, seconds=5), payment(3, seconds=9, tenant_id="t2")
    with two.unit_of_work() as uow:
        for p in (p1, p2, p3):
            uow.insert_payment(p)
        uow.insert_decision("fd1", p1, FraudDecision(Outcome.ALLOW, ()))
        uow.insert_decision("fd2", p2, FraudDecision(Outcome.FLAG, evaluated))
        uow.insert_decision("fd3", p3, FraudDecision(Outcome.ALLOW, ()))
    with two.reader() as r:
        assert r.recent_decisions("t1", 10) == [
            {"id": "fd2", "tenant_id": "t1", "payment_id": "p002", "outcome": "flag",
             "evaluated": list(evaluated), "created_at": p2.created_at},
            {"id": "fd1", "tenant_id": "t1", "payment_id": "p001", "outcome": "allow",
             "evaluated": [], "created_at": p1.created_at},
        ]  # fmt: skip
        assert [d["id"] for d in r.recent_decisions("t1", 1)] == ["fd2"]
        assert [d["id"] for d in r.recent_decisions("t2", 10)] == ["fd3"]


def test_payment_activity_pairs_each_event_with_its_delivery(two: Store) -> None:
    with two.unit_of_work() as uow:
        uow.insert_payment(payment(1))
        uow.insert_payment(payment(6, tenant_id="t2"))
    publish(two, event(2, 1, seconds=1), event(1, 1), event(3, 6, tenant_id="t2"))
    claim(two, START + 10 * S)  # e2, published first; e1 waits for it
    with two.reader() as r:
        found = r.payment_activity("t1", "p001", 10)
        assert [(e.id, d and d.status) for e, d in found] == [
            ("e1", DeliveryStatus.PENDING),
            ("e2", DeliveryStatus.DELIVERING),
        ]  # by the events' time, each with its own delivery
        assert found[0][0] == event(1, 1)
        assert r.payment_activity("t2", "p001", 10) == []  # another tenant's
        assert len(r.payment_activity("t1", "p001", 1)) == 1
