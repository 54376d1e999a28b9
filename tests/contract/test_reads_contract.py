"""The storage contract for tenants, refunds, disputes, fraud decisions, rules, sweeps and
metrics, run against every adapter in ``tests.conftest.STORES``."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest

from mockpay_core import Status
from mockpay_core.domain.fraud import FraudDecision, FraudRule, Outcome, RuleSpec
from mockpay_core.domain.model import Dispute, DisputeStatus, Event, Refund
from mockpay_core.errors import IdempotencyKeyInUse
from mockpay_core.storage.protocol import Store
from tests.conftest import START
from tests.contract.support import busy_elsewhere, elsewhere, known_difference
from tests.contract.test_store_contract import audit, payment, tenant


@pytest.fixture
def two_tenants(store: Store) -> Store:
    with store.unit_of_work() as uow:
        uow.insert_tenant(tenant(1), "hash-1")
        uow.insert_tenant(dataclasses.replace(tenant(2), created_at=START - timedelta(1)), "h2")
    return store


def test_tenants_read_and_update(two_tenants: Store) -> None:
    rotated = dataclasses.replace(
        tenant(1), name="Acme Ltd", webhook_secret="whsec_new", rate_limit_tier="premium",
        previous_webhook_secret="whsec_x", secret_rotated_at=START + timedelta(hours=1),
    )  # fmt: skip
    with two_tenants.reader() as r:
        assert r.get_tenant("t1") == tenant(1)
        assert r.get_tenant("t3") is None
        assert [t.id for t in r.list_tenants()] == ["t2", "t1"]  # by created_at, then id
    with two_tenants.unit_of_work() as uow:
        uow.update_tenant(rotated)
        assert uow.get_tenant("t1") == rotated
    with two_tenants.reader() as r:
        assert r.get_tenant("t1") == rotated
        assert r.tenant_by_key_hash("hash-1") == rotated
        assert r.get_tenant("t2") == dataclasses.replace(tenant(2), created_at=START - timedelta(1))


def test_payment_tenant_names_the_owner_across_tenants(two_tenants: Store) -> None:
    with two_tenants.unit_of_work() as uow:
        uow.insert_payment(payment(1))
        uow.insert_payment(payment(2, tenant_id="t2"))
    with two_tenants.reader() as r:
        assert r.payment_tenant("p001") == "t1"
        assert r.payment_tenant("p002") == "t2"
        assert r.payment_tenant("p999") is None


def test_refunds_in_order_and_per_tenant(two_tenants: Store) -> None:
    late = Refund("r1", "p001", "t1", 30, "USD", None, START + timedelta(seconds=5))
    early = Refund("r2", "p001", "t1", 20, "USD", "requested_by_customer", START)
    tie = Refund("r0", "p001", "t1", 10, "USD", "duplicate", START)
    with two_tenants.unit_of_work() as uow:
        uow.insert_payment(payment(1, Status.SUCCESS, captured_minor=100))
        for refund in (late, early, tie):
            uow.insert_refund(refund)
        assert uow.refunds("t1", "p001") == [tie, early, late]  # its own writes
    with two_tenants.reader() as r:
        assert r.refunds("t1", "p001") == [tie, early, late]  # created_at, then id
        assert r.refunds("t2", "p001") == []
        assert r.refunds("t1", "p002") == []


def test_disputes_open_and_resolve(two_tenants: Store) -> None:
    opened = Dispute("d1", "p001", "t1", 100, "USD", "fraudulent", DisputeStatus.OPEN, START)
    other = Dispute("d2", "p001", "t1", 50, "USD", None, DisputeStatus.OPEN, START + timedelta(1))
    won = dataclasses.replace(
        opened, status=DisputeStatus.WON, resolved_at=START + timedelta(days=3)
    )
    with two_tenants.unit_of_work() as uow:
        uow.insert_payment(payment(1, Status.SUCCESS, captured_minor=100))
        uow.insert_dispute(other)
        uow.insert_dispute(opened)
    with two_tenants.reader() as r:
        assert r.disputes("t1", "p001") == [opened, other]
        assert r.disputes("t2", "p001") == []
    with two_tenants.unit_of_work() as uow:
        uow.update_dispute(won)
        uow.update_dispute(dataclasses.replace(other, tenant_id="t2", status=DisputeStatus.LOST))
    with two_tenants.reader() as r:
        assert r.disputes("t1", "p001") == [won, other]  # another tenant's update: no effect


def test_fraud_decisions_kept_per_payment(two_tenants: Store) -> None:
    evaluated = (
        {"rule_id": "r1", "name": "velocity", "observed": 4, "threshold": "3", "fired": True},
        {"rule_id": "r2", "name": "big", "observed": 300, "threshold": None, "fired": False},
    )
    p3 = payment(3, Status.FLAGGED, seconds=2)
    with two_tenants.unit_of_work() as uow:
        uow.insert_payment(p3)
        uow.insert_decision("fd2", p3, FraudDecision(Outcome.FLAG, evaluated))
        uow.insert_decision("fd1", p3, FraudDecision(Outcome.ALLOW, ()))
    with two_tenants.reader() as r:
        assert r.fraud_decisions("t1", "p003") == [
            {"id": "fd1", "outcome": "allow", "evaluated": [], "created_at": p3.created_at},
            {"id": "fd2", "outcome": "flag", "evaluated": list(evaluated),
             "created_at": p3.created_at},
        ]  # fmt: skip
        assert r.fraud_decisions("t2", "p003") == []


def test_get_rule_reads_back_every_field(two_tenants: Store) -> None:
    spec = RuleSpec(
        name="blocked cards", rule_type="blocklist", action="block",  # type: ignore[arg-type]
        threshold=Decimal("2.50"), window_secs=60, scope="customer",  # type: ignore[arg-type]
        values=("cus_1", "cus_2"), is_active=False,
    )  # fmt: skip
    rule = FraudRule("r1", spec, START, START + timedelta(minutes=1))
    with two_tenants.unit_of_work() as uow:
        uow.insert_rule(rule, "t1")
    with two_tenants.reader() as r:
        found = r.get_rule("r1")
        assert found == rule
        assert found is not None and str(found.spec.threshold) == "2.50"  # exact, as written
        assert r.get_rule("r2") is None


def test_pending_before_sweeps_every_tenant_oldest_first(two_tenants: Store) -> None:
    with two_tenants.unit_of_work() as uow:
        uow.insert_payment(payment(1, seconds=0))
        uow.insert_payment(payment(3, Status.FLAGGED, seconds=1))
        uow.insert_payment(payment(5, seconds=3))
        uow.insert_payment(payment(4, seconds=3, tenant_id="t2"))
        uow.insert_payment(payment(6, Status.SUCCESS, seconds=2))
    with two_tenants.reader() as r:
        assert r.pending_before(START, 10) == []  # strictly before
        assert [p.id for p in r.pending_before(START + timedelta(seconds=3), 10)] == ["p001"]
        late = START + timedelta(seconds=4)
        assert [p.id for p in r.pending_before(late, 10)] == ["p001", "p004", "p005"]
        assert [p.id for p in r.pending_before(late, 2)] == ["p001", "p004"]
        assert r.pending_before(late, 1)[0] == payment(1)


def test_next_authorization_expiry(two_tenants: Store) -> None:
    with two_tenants.reader() as r:
        assert r.next_authorization_expiry() is None
    with two_tenants.unit_of_work() as uow:
        uow.insert_payment(payment(1))
        later, sooner = START + timedelta(days=7), START + timedelta(days=2)
        uow.insert_payment(payment(2, Status.AUTHORIZED, expires_at=later))
        uow.insert_payment(payment(3, Status.AUTHORIZED, expires_at=sooner, tenant_id="t2"))
    with two_tenants.reader() as r:
        assert r.next_authorization_expiry() == sooner


def _metrics_data(store: Store) -> None:
    """t1: three payments (one success, one flagged), three audit rows, two events;
    t2: one pending payment and its event."""
    s = timedelta(seconds=1)
    with store.unit_of_work() as uow:
        p1, p2 = payment(1), payment(2, Status.SUCCESS, seconds=1, captured_minor=200)
        p3 = payment(3, Status.FLAGGED, seconds=2, currency="EUR")
        p4 = payment(4, seconds=3, tenant_id="t2")
        for p in (p1, p2, p3, p4):
            uow.insert_payment(p)
        uow.insert_decision("fd1", p1, FraudDecision(Outcome.ALLOW, ()))
        uow.insert_decision("fd3", p3, FraudDecision(Outcome.FLAG, ()))
        uow.insert_decision("fd4", p4, FraudDecision(Outcome.ALLOW, ()))
        uow.insert_audit(audit(1))
        uow.insert_audit(audit(2))
        uow.insert_audit(dataclasses.replace(audit(3, "p002"), created_at=START + 5 * s))
        uow.insert_event(Event("e1", "t1", "p001", "payment.created", {}, START))
        uow.insert_event(Event("e2", "t1", "p002", "payment.succeeded", {}, START + 5 * s))
        uow.insert_event(Event("e3", "t2", "p004", "payment.created", {}, START + 3 * s))


def _by_status(**counts: int) -> dict[str, int]:
    return {s.value: counts.get(s.value, 0) for s in Status}


def test_metrics_of_one_tenant_and_of_all(two_tenants: Store) -> None:
    _metrics_data(two_tenants)
    since = START + timedelta(seconds=1)  # "the last 24 hours": at or after
    with two_tenants.reader() as r:
        one, every = r.metrics(since, "t1"), r.metrics(since, None)
    assert one == {
        "payments": {
            "total": 3,
            "by_status": _by_status(pending=1, success=1, flagged=1),
            "last_24_hours": 2,
            "by_currency": {
                "EUR": {"count": 1, "volume_minor": 300, "average_minor": 300},
                "USD": {"count": 2, "volume_minor": 300, "average_minor": 150},
            },
            "success_rate_pct": 33.33,
        },
        "fraud": {"total_flagged": 1, "flagged_last_24h": 1, "flag_rate_pct": 33.33},
        "audit": {"total_transitions": 3, "payments_with_history": 2, "transitions_last_24h": 1},
        "events": {"total": 2, "last_24_hours": 1},
    }
    usd = {"count": 3, "volume_minor": 700, "average_minor": 233}  # t2's p004 counts too
    assert every == {
        **one,
        "payments": {
            **one["payments"], "total": 4, "by_status": _by_status(pending=2, success=1,
            flagged=1), "last_24_hours": 3, "success_rate_pct": 25.0,
            "by_currency": {**one["payments"]["by_currency"], "USD": usd},
        },
        "fraud": {**one["fraud"], "flag_rate_pct": 25.0},
        "events": {"total": 3, "last_24_hours": 2},
    }  # fmt: skip
    assert all(type(v["volume_minor"]) is int for v in every["payments"]["by_currency"].values())


def test_metrics_of_an_empty_store(two_tenants: Store) -> None:
    with two_tenants.reader() as r:
        found = r.metrics(START, None)
    assert found["payments"] == {
        "total": 0, "by_status": _by_status(), "last_24_hours": 0, "by_currency": {},
        "success_rate_pct": 0.0,
    }  # fmt: skip
    assert found["fraud"]["flag_rate_pct"] == 0.0
    assert found["events"] == {"total": 0, "last_24_hours": 0}


def test_lock_payment_reads_it_within_the_unit(two_tenants: Store) -> None:
    with two_tenants.unit_of_work() as uow:
        uow.insert_payment(payment(1))
        assert uow.lock_payment("t1", "p001") == payment(1)
        assert uow.lock_payment("t2", "p001") is None
        assert uow.lock_payment("t1", "p404") is None
        captured = payment(1, Status.SUCCESS, captured_minor=100)
        uow.update_payment(captured)
        assert uow.lock_payment("t1", "p001") == captured


def test_lock_payment_holds_the_payment_until_commit(shared_store: Store) -> None:
    with shared_store.unit_of_work() as uow:
        uow.insert_tenant(tenant(1), "hash-1")
        uow.insert_payment(payment(1))
        uow.insert_payment(payment(2))
    with shared_store.unit_of_work() as uow:
        assert uow.lock_payment("t1", "p001") == payment(1)
        assert busy_elsewhere(shared_store, lambda other: other.lock_payment("t1", "p001"))
    assert not busy_elsewhere(shared_store, lambda other: other.lock_payment("t1", "p001"))


def test_a_reader_reads_one_snapshot(shared_store: Store) -> None:
    """What commits while a reader is open stays out of all of its reads."""
    with shared_store.unit_of_work() as uow:
        uow.insert_tenant(tenant(1), "hash-1")
    with shared_store.reader() as r:
        assert r.get_payment("t1", "p001") is None
        assert not busy_elsewhere(shared_store, lambda other: other.insert_payment(payment(1)))
        assert r.get_payment("t1", "p001") is None
        assert r.payment_tenant("p001") is None
    with shared_store.reader() as r:
        assert r.get_payment("t1", "p001") == payment(1)


def test_a_held_idempotency_key_turns_a_second_caller_away(
    shared_store: Store, request: pytest.FixtureRequest
) -> None:
    """The first caller with a key runs; a later one waits for it, a bounded wait, then
    ``IdempotencyKeyInUse`` (the Protocol's words); once the first commits, the key is free."""
    known_difference(request, "sqlite", (
        "SQLite's second caller waits for the database's one write lock, before it reaches "
        "lock_idempotency_key, and gives up with StorageBusy (database_busy), not "
        "IdempotencyKeyInUse; PostgreSQL raises IdempotencyKeyInUse after lock_timeout"
    ))  # fmt: skip
    with shared_store.unit_of_work() as uow:
        uow.insert_tenant(tenant(1), "hash-1")
    with shared_store.unit_of_work() as uow:
        uow.lock_idempotency_key("t1", "k1")
        found = elsewhere(shared_store, lambda other: other.lock_idempotency_key("t1", "k1"))
        assert isinstance(found, IdempotencyKeyInUse), found
    assert elsewhere(shared_store, lambda other: other.lock_idempotency_key("t1", "k1")) is None
