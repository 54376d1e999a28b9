"""The storage contract, run against every adapter in ``tests.conftest.STORES``."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest

from mockpay_core import CaptureMethod, Payment, Status, Tenant
from mockpay_core.domain.fraud import FraudRule, RuleSpec, WindowQuery
from mockpay_core.domain.model import AuditEntry, Event
from mockpay_core.storage.protocol import IdempotencyRecord, PaymentFilter, Store
from tests.conftest import START


def tenant(n: int = 1) -> Tenant:
    return Tenant(f"t{n}", "Acme", f"dev{n}@acme.test", "whsec_x", "standard", START)


def payment(n: int, status: Status = Status.PENDING, seconds: int = 0, **kw: object) -> Payment:
    at = START + timedelta(seconds=seconds)
    fields: dict[str, object] = {
        "id": f"p{n:03d}", "tenant_id": "t1", "amount_minor": 100 * n, "currency": "USD",
        "status": status, "capture_method": CaptureMethod.AUTOMATIC, "webhook_url": "http://h/",
        "idempotency_key": f"k{n}", "created_at": at, "updated_at": at, **kw,
    }  # fmt: skip
    return Payment(**fields)  # type: ignore[arg-type]


def audit(seq: int, payment_id: str = "p001") -> AuditEntry:
    return AuditEntry(f"a{seq}", "t1", payment_id, seq, None, "pending", "create", "test",
                      {"n": seq}, START, "0" * 64, f"{seq:064d}")  # fmt: skip


@pytest.fixture
def seeded(store: Store) -> Store:
    with store.unit_of_work() as uow:
        uow.insert_tenant(tenant(), "hash-1")
    return store


def test_a_unit_of_work_commits_together(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        uow.insert_payment(payment(1))
        uow.insert_audit(audit(1))
        uow.insert_event(Event("e1", "t1", "p001", "x", {"a": 1}, START))
    with seeded.reader() as r:
        assert r.get_payment("t1", "p001") == payment(1)
        assert [e.id for e in r.audit_for_payment("t1", "p001")] == ["a1"]
        assert [e.payload for e in r.events("t1", None, 10)] == [{"a": 1}]


def test_latest_events_are_newest_first_and_of_the_types_asked(seeded: Store) -> None:
    kinds = ["payment.created", "payment.success", "payment.refunded", "payment.success"]
    with seeded.unit_of_work() as uow:
        uow.insert_payment(payment(1))
        for n, kind in enumerate(kinds, 1):  # e4 and e3 at one time: the id breaks the tie
            at = START + timedelta(seconds=min(n, 3))
            uow.insert_event(Event(f"e{n}", "t1", "p001", kind, {"n": n}, at))
    with seeded.reader() as r:
        assert [e.id for e in r.latest_events("t1", 10)] == ["e4", "e3", "e2", "e1"]
        assert [e.id for e in r.latest_events("t1", 2)] == ["e4", "e3"]
        assert [e.id for e in r.latest_events("t1", 10, ["payment.success"])] == ["e4", "e2"]
        both = ["payment.created", "payment.refunded"]
        assert [e.id for e in r.latest_events("t1", 10, both)] == ["e3", "e1"]
        assert r.latest_events("t1", 10, []) == [] and r.latest_events("t2", 10) == []
        assert list(reversed(r.latest_events("t1", 10))) == r.events("t1", None, 10)


def test_an_exception_rolls_everything_back(seeded: Store) -> None:
    with pytest.raises(RuntimeError), seeded.unit_of_work() as uow:
        uow.insert_payment(payment(1))
        uow.insert_audit(audit(1))
        uow.insert_event(Event("e1", "t1", "p001", "x", {}, START))
        raise RuntimeError("crash between the writes and the commit")
    with seeded.reader() as r:
        assert r.get_payment("t1", "p001") is None
        assert r.audit_for_payment("t1", "p001") == []
        assert r.events("t1", None, 10) == []


def test_a_savepoint_rolls_back_alone(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        uow.insert_payment(payment(1))
        with pytest.raises(RuntimeError), uow.savepoint():
            uow.insert_payment(payment(2))
            raise RuntimeError
        assert uow.get_payment("t1", "p002") is None
        uow.insert_payment(payment(3))
    with seeded.reader() as r:
        assert [p.id for p in r.list_payments("t1", PaymentFilter(), 10)] == ["p003", "p001"]


def test_tenants(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        assert uow.lock_tenant("t1") and not uow.lock_tenant("nope")
        assert uow.email_registered("DEV1@ACME.TEST") and not uow.email_registered("x@y.z")
        assert uow.tenant_by_key_hash("hash-1") == tenant()
        assert uow.tenant_by_key_hash("hash-2") is None


def test_payment_updates_and_pages(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        for n in range(1, 6):
            uow.insert_payment(payment(n, seconds=n // 2, currency="EUR" if n == 3 else "USD"))
        uow.update_payment(payment(2, Status.SUCCESS, seconds=1, captured_minor=200))
    with seeded.reader() as r:
        assert r.get_payment("t1", "p002").captured_minor == 200  # type: ignore[union-attr]
        assert r.get_payment("t2", "p002") is None
        everything = r.list_payments("t1", PaymentFilter(), 10)
        assert [p.id for p in everything] == ["p005", "p004", "p003", "p002", "p001"]
        after = (everything[1].created_at, everything[1].id)
        assert [p.id for p in r.list_payments("t1", PaymentFilter(before=after), 2)] == [
            "p003",
            "p002",
        ]
        assert [p.id for p in r.list_payments("t1", PaymentFilter(currency="EUR"), 9)] == ["p003"]
        assert [p.id for p in r.list_payments("t1", PaymentFilter(status="success"), 9)] == ["p002"]


def test_update_payment_writes_the_fields_a_payment_can_change(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        uow.insert_payment(payment(1, payment_method="pm_card_visa"))
        uow.insert_payment(payment(2))
        changed = dataclasses.replace(
            payment(1, Status.CANCELED), updated_at=START + timedelta(seconds=3),
            description="Blue mug",
            metadata={"order": "42", "note": "é"}, payment_method="pm_card_mastercard",
            cancellation_reason="duplicate",
        )  # fmt: skip
        uow.update_payment(changed)
        assert uow.get_payment("t1", "p001") == changed  # the unit of work reads its writes
    with seeded.reader() as r:
        assert r.get_payment("t1", "p001") == changed
        assert r.get_payment("t1", "p002") == payment(2)  # only its own row


def test_window_stats_count_what_fraud_let_through(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        uow.insert_payment(payment(1, seconds=0, customer="a"))
        uow.insert_payment(payment(2, seconds=10, customer="a"))
        uow.insert_payment(payment(3, Status.FLAGGED, seconds=10, customer="a"))
        uow.insert_payment(
            payment(4, Status.FAILED, seconds=10, customer="a", failure_code="fraud_blocked")
        )
        uow.insert_payment(payment(5, Status.SUCCESS, seconds=20, customer="b", currency="EUR"))
        uow.insert_payment(  # an issuer decline still counts: card testers get declined
            payment(6, Status.FAILED, seconds=10, customer="a", failure_code="card_declined")
        )
        since = START  # strictly after: p001 at START is outside
        stats = uow.window_stats("t1", [
            WindowQuery("all", "count", since, None, None),
            WindowQuery("cust", "count", since - timedelta(seconds=1), "a", None),
            WindowQuery("usd", "sum", since - timedelta(seconds=1), None, "USD"),
            WindowQuery("eur-b", "sum", since, "b", "EUR"),
        ])  # fmt: skip
    assert stats == {"all": 3, "cust": 3, "usd": 900, "eur-b": 500}


def test_window_stats_expected_ahead_are_what_they_would_be(seeded: Store) -> None:
    """``expect_window_stats`` is a hint (a store may send the queries early): what
    ``window_stats`` answers after it is what it answers without it, writes between the
    two included."""
    since = START - timedelta(seconds=1)
    queries = [
        WindowQuery("all", "count", since, None, None),
        WindowQuery("usd", "sum", since, None, "USD"),
    ]
    with seeded.unit_of_work() as uow:
        assert uow.lock_tenant("t1")
        uow.insert_payment(payment(1))
        uow.expect_window_stats("t1", lambda rules: queries)
        uow.lock_idempotency_key("t1", "k")
        assert uow.get_idempotency("t1", "k") is None
        hinted = uow.window_stats("t1", queries)
        assert hinted == uow.window_stats("t1", queries) and hinted["all"] == 1
        uow.expect_window_stats("t1", lambda rules: queries)
        uow.insert_payment(payment(2))  # written after the hint: counted all the same
        hinted = uow.window_stats("t1", queries)
        assert hinted == uow.window_stats("t1", queries) and hinted["all"] == 2
        uow.expect_window_stats("t9", lambda rules: queries)  # not locked: a hint ignored
        assert uow.window_stats("t9", queries) == {"all": 0, "usd": 0}


def test_audit_chain_head_and_order(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        uow.insert_payment(payment(1))
        assert uow.audit_head("t1") is None
        for seq in (1, 2, 3):
            uow.insert_audit(audit(seq))
        assert uow.audit_head("t1") == (3, f"{3:064d}")
    with seeded.reader() as r:
        chain = list(r.audit_chain("t1"))
        assert [row["seq"] for row in chain] == [1, 2, 3]
        assert chain[0]["metadata"] == {"n": 1}
        assert chain[0]["created_at"] == START.isoformat(timespec="microseconds")


def test_idempotency_records(seeded: Store) -> None:
    rec = IdempotencyRecord(
        "t1", "k", "op", "fp", True, {"x": [1]}, START, START + timedelta(days=1)
    )
    with seeded.unit_of_work() as uow:
        uow.lock_idempotency_key("t1", "k")
        assert uow.get_idempotency("t1", "k") is None
        uow.put_idempotency(rec)
        assert uow.get_idempotency("t1", "k") == rec
        replaced = IdempotencyRecord(
            "t1", "k", "op", "fp2", False, {}, START, START + timedelta(days=2)
        )
        uow.put_idempotency(replaced)
        assert uow.get_idempotency("t1", "k") == replaced
        assert uow.purge_idempotency(START + timedelta(days=1), 10) == 0
        assert uow.purge_idempotency(START + timedelta(days=2), 10) == 1
        assert uow.get_idempotency("t1", "k") is None


def test_rules_and_meta(seeded: Store) -> None:
    spec = RuleSpec(name="v", rule_type="velocity", threshold=Decimal(3), window_secs=5)  # type: ignore[arg-type]
    rule = FraudRule("r1", spec, START, START)
    with seeded.unit_of_work() as uow:
        uow.insert_rule(rule, None)
        uow.insert_rule(FraudRule("r2", spec, START, START), "t2")
        assert [r.id for r in uow.active_rules("t1")] == ["r1"]
        uow.update_rule("r1", spec.model_copy(update={"is_active": False}), START)
        assert uow.active_rules("t1") == []
        assert uow.delete_rule("r1") and not uow.delete_rule("r1")
        assert uow.get_meta("k") is None
        uow.set_meta("k", "v")
    with seeded.reader() as r:
        assert [x.id for x in r.list_rules()] == ["r2"]
        assert r.get_meta("k") == "v"


def test_due_authorizations(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        uow.insert_payment(payment(1, Status.AUTHORIZED, expires_at=START + timedelta(days=1)))
        uow.insert_payment(payment(2, Status.AUTHORIZED, expires_at=START + timedelta(days=2)))
        uow.insert_payment(payment(3))
    with seeded.reader() as r:
        assert r.due_authorizations(START, 10) == []
        assert [p.id for p in r.due_authorizations(START + timedelta(days=1), 10)] == ["p001"]
        assert len(r.due_authorizations(START + timedelta(days=9), 1)) == 1
