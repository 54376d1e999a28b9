"""The state table's retry edge, on every store: a declined payment given another payment
method is pending again (Stripe's confirm-again); one refused by fraud rules is not."""

from __future__ import annotations

import pytest

from mockpay_core import Engine, Status, Tenant
from mockpay_core.errors import IdempotencyKeyReused, InvalidTransition
from tests.engine.helpers import create


def test_a_declined_payment_takes_another_payment_method(engine: Engine, tenant: Tenant) -> None:
    p = create(engine, tenant.id, payment_method="pm_card_chargeDeclined")
    engine.simulate(tenant.id, p.id, "failed", failure_code="insufficient_funds")
    out = engine.update_payment(
        tenant.id, p.id, payment_method="pm_card_visa", metadata={"try": "2"}, idempotency_key="r"
    )
    again = out.value
    assert (again.status, again.failure_code, again.payment_method) == (
        Status.PENDING,
        None,
        "pm_card_visa",
    )
    assert again.metadata == {"try": "2"}
    replay = engine.update_payment(
        tenant.id, p.id, payment_method="pm_card_visa", metadata={"try": "2"}, idempotency_key="r"
    )
    assert replay.replayed and replay.value == again
    with pytest.raises(IdempotencyKeyReused):
        engine.update_payment(tenant.id, p.id, payment_method="pm_card_amex", idempotency_key="r")
    done = engine.simulate(tenant.id, p.id, "success").value
    assert (done.status, done.captured_minor) == (Status.SUCCESS, 10000)
    history = engine.audit_history(tenant.id, p.id)
    assert [(a.action, a.old_status, a.new_status) for a in history] == [
        ("create", None, "pending"),
        ("fail", "pending", "failed"),
        ("retry", "failed", "pending"),
        ("succeed", "pending", "success"),
    ]
    assert history[2].metadata == {
        "failure_code": "insufficient_funds",
        "changed": ["metadata", "payment_method"],
    }
    types = [e.type for e in engine.events(tenant.id, p.id, 10)]
    assert types == ["payment.failed", "payment.success"]  # the retry itself is silent


def test_a_payment_refused_by_fraud_rules_stays_refused(engine: Engine, tenant: Tenant) -> None:
    engine.create_fraud_rule(
        {"name": "bl", "rule_type": "blocklist", "values": ["cus_bad"], "action": "block"}
    )
    blocked = create(engine, tenant.id, 1, customer="cus_bad")
    with pytest.raises(InvalidTransition) as exc:
        engine.update_payment(tenant.id, blocked.id, payment_method="pm_card_visa")
    assert "fraud_blocked" in exc.value.message
    assert engine.get_payment(tenant.id, blocked.id).status is Status.FAILED


def test_other_fields_of_a_declined_payment_change_in_place(engine: Engine, tenant: Tenant) -> None:
    p = create(engine, tenant.id)
    engine.simulate(tenant.id, p.id, "failed")
    changed = engine.update_payment(tenant.id, p.id, description="after the decline").value
    assert (changed.status, changed.description) == (Status.FAILED, "after the decline")
