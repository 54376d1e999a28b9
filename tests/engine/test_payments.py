"""Payment commands through the engine: every transition, every error, tenant isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mockpay_core import CaptureMethod, Engine, SimulatedClock, Status, Tenant
from mockpay_core.errors import (
    AmountExceeded,
    AuthorizationExpired,
    InvalidTransition,
    NotFound,
    ValidationError,
)
from tests.engine.helpers import captured, create


def test_create_stores_minor_units_and_the_optional_fields(engine: Engine, tenant: Tenant) -> None:
    p = create(
        engine, tenant.id, 49.99, currency="usd", customer="cus_1", description="Blue mug",
        metadata={"order": "1001"},
    )  # fmt: skip
    assert (p.amount_minor, p.currency, p.status, p.capture_method) == (
        4999, "USD", Status.PENDING, CaptureMethod.AUTOMATIC
    )  # fmt: skip
    assert (p.customer, p.description, p.metadata) == ("cus_1", "Blue mug", {"order": "1001"})
    assert engine.get_payment(tenant.id, p.id) == p
    assert p.created_at == engine.clock.now()


def test_create_names_every_bad_field(engine: Engine, tenant: Tenant) -> None:
    with pytest.raises(ValidationError) as info:
        engine.create_payment(
            tenant.id, amount="5000", currency="XYZ", webhook_url="ftp://x", idempotency_key=None,
            capture_method="later", metadata={"k": 1},
        )  # fmt: skip
    fields = [f for f, _ in info.value.errors]
    assert fields == [
        "idempotency_key", "currency", "amount", "webhook_url", "capture_method", "metadata.k"
    ]  # fmt: skip


def test_a_prepared_create_validates_first_and_runs_when_called(
    engine: Engine, tenant: Tenant
) -> None:
    hook = "http://127.0.0.1:4000/hooks"
    with pytest.raises(ValidationError):
        engine.prepare_create_payment(
            tenant.id, amount=-1, currency="USD", webhook_url=hook, idempotency_key="k"
        )
    run = engine.prepare_create_payment(
        tenant.id, amount=5, currency="USD", webhook_url=hook, idempotency_key="k"
    )
    assert engine.list_payments(tenant.id).data == []  # nothing written yet
    first, again = run(), run()
    assert (first.replayed, again.replayed, again.value) == (False, True, first.value)
    assert len(engine.list_payments(tenant.id).data) == 1


def test_create_for_an_unknown_tenant_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound):
        create(engine, "no-such-tenant")


def test_automatic_capture_then_refunds(engine: Engine, tenant: Tenant) -> None:
    p = captured(engine, tenant.id, 100)
    assert (p.status, p.captured_minor) == (Status.SUCCESS, 10000)
    first = engine.refund(tenant.id, p.id, 30, reason="damaged").value
    assert first.payment.status is Status.PARTIALLY_REFUNDED
    assert (first.refund.amount_minor, first.refund.reason) == (3000, "damaged")
    with pytest.raises(AmountExceeded, match=r"exceeds the refundable amount 70\.00"):
        engine.refund(tenant.id, p.id, 70.01)
    last = engine.refund(tenant.id, p.id, 70).value
    assert (last.payment.status, last.payment.refunded_minor) == (Status.REFUNDED, 10000)
    assert [r.amount_minor for r in engine.refunds(tenant.id, p.id)] == [3000, 7000]
    with pytest.raises(InvalidTransition, match="Cannot refund a payment with status refunded"):
        engine.refund(tenant.id, p.id, 1)


def test_simulate_only_from_pending_with_the_originals_message(
    engine: Engine, tenant: Tenant
) -> None:
    p = create(engine, tenant.id)
    failed = engine.simulate(tenant.id, p.id, "failed", failure_code="insufficient_funds").value
    assert (failed.status, failed.failure_code) == (Status.FAILED, "insufficient_funds")
    with pytest.raises(InvalidTransition, match="Invalid transition from failed to success"):
        engine.simulate(tenant.id, p.id, "success")
    with pytest.raises(ValidationError, match="status: must be one of success, failed"):
        engine.simulate(tenant.id, p.id, "refunded")


def test_manual_capture_partial_capture_releases_the_rest(engine: Engine, tenant: Tenant) -> None:
    p = create(engine, tenant.id, 120, capture_method="manual")
    auth = engine.simulate(tenant.id, p.id, "success").value
    assert auth.status is Status.AUTHORIZED
    assert auth.expires_at == engine.clock.now() + timedelta(days=7)
    with pytest.raises(AmountExceeded):
        engine.capture(tenant.id, p.id, amount=120.01)
    done = engine.capture(tenant.id, p.id, amount=100).value
    assert (done.status, done.captured_minor, done.expires_at) == (Status.SUCCESS, 10000, None)
    with pytest.raises(AmountExceeded):
        engine.refund(tenant.id, p.id, 100.01)
    assert engine.refund(tenant.id, p.id, 100).value.payment.status is Status.REFUNDED
    (row,) = [e for e in engine.audit_history(tenant.id, p.id) if e.action == "capture"]
    assert row.metadata == {"captured_minor": 10000, "released_minor": 2000}


def test_cancel_from_pending_and_authorized_only(engine: Engine, tenant: Tenant) -> None:
    p = create(engine, tenant.id)
    assert engine.cancel(tenant.id, p.id, reason="customer left").value.status is Status.CANCELED
    q = create(engine, tenant.id, capture_method="manual")
    engine.simulate(tenant.id, q.id, "success")
    assert engine.cancel(tenant.id, q.id).value.status is Status.CANCELED
    r = captured(engine, tenant.id)
    with pytest.raises(InvalidTransition):
        engine.cancel(tenant.id, r.id)


def test_authorizations_expire_on_the_clock(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    p = create(engine, tenant.id, capture_method="manual")
    engine.simulate(tenant.id, p.id, "success")
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert engine.run_due()["authorizations_expired"] == 0
    clock.advance(1)
    with pytest.raises(AuthorizationExpired):
        engine.capture(tenant.id, p.id)
    assert engine.run_due()["authorizations_expired"] == 1
    after = engine.get_payment(tenant.id, p.id)
    assert (after.status, after.expires_at) == (Status.CANCELED, None)
    assert engine.audit_history(tenant.id, p.id)[-1].triggered_by == "expiry_sweep"
    assert engine.events(tenant.id, p.id)[-1].type == "payment.expired"
    assert engine.run_due()["authorizations_expired"] == 0


def test_disputes_won_and_lost(engine: Engine, tenant: Tenant) -> None:
    p = captured(engine, tenant.id, 100)
    engine.refund(tenant.id, p.id, 40)
    with pytest.raises(AmountExceeded):
        engine.open_dispute(tenant.id, p.id, amount=60.01)
    opened = engine.open_dispute(tenant.id, p.id, reason="fraudulent").value
    assert (opened.payment.status, opened.dispute.amount_minor) == (Status.DISPUTED, 6000)
    with pytest.raises(InvalidTransition):
        engine.refund(tenant.id, p.id, 1)
    won = engine.resolve_dispute(tenant.id, p.id, "won").value
    assert (won.payment.status, won.dispute.status.value) == (Status.PARTIALLY_REFUNDED, "won")
    engine.open_dispute(tenant.id, p.id, amount=60)
    lost = engine.resolve_dispute(tenant.id, p.id, "lost").value
    assert (lost.payment.status, lost.payment.disputed_minor) == (Status.REFUNDED, 6000)
    assert [d.status.value for d in engine.disputes(tenant.id, p.id)] == ["won", "lost"]
    with pytest.raises(InvalidTransition):
        engine.resolve_dispute(tenant.id, p.id, "lost")


def test_review_of_flagged_payments(engine: Engine, tenant: Tenant) -> None:
    engine.create_fraud_rule({"name": "big", "rule_type": "amount_limit", "threshold": 1000})
    p = create(engine, tenant.id, 5000)
    assert p.status is Status.FLAGGED
    assert engine.review(tenant.id, p.id, "approve").value.status is Status.PENDING
    q = create(engine, tenant.id, 5000)
    rejected = engine.review(tenant.id, q.id, "reject").value
    assert (rejected.status, rejected.failure_code) == (Status.FAILED, "fraud_rejected")
    with pytest.raises(InvalidTransition):
        engine.review(tenant.id, q.id, "approve")
    with pytest.raises(ValidationError):
        engine.review(tenant.id, q.id, "maybe")


def test_every_payment_route_is_tenant_scoped(engine: Engine, tenant: Tenant) -> None:
    other = engine.register_tenant("Other", "other@x.test").tenant
    p = captured(engine, tenant.id)
    calls = [
        lambda: engine.get_payment(other.id, p.id),
        lambda: engine.simulate(other.id, p.id, "success"),
        lambda: engine.capture(other.id, p.id),
        lambda: engine.cancel(other.id, p.id),
        lambda: engine.refund(other.id, p.id, 1),
        lambda: engine.open_dispute(other.id, p.id),
        lambda: engine.resolve_dispute(other.id, p.id, "won"),
        lambda: engine.review(other.id, p.id, "approve"),
        lambda: engine.audit_history(other.id, p.id),
        lambda: engine.refunds(other.id, p.id),
        lambda: engine.disputes(other.id, p.id),
        lambda: engine.fraud_decisions(other.id, p.id),
    ]
    for call in calls:
        with pytest.raises(NotFound, match="Payment not found"):
            call()
    assert engine.list_payments(other.id).data == []
    assert engine.events(other.id) == []
    assert engine.get_payment(tenant.id, p.id).status is Status.SUCCESS


def test_events_carry_the_originals_fields(engine: Engine, tenant: Tenant) -> None:
    p = captured(engine, tenant.id, 5000, currency="INR")
    engine.refund(tenant.id, p.id, 1000, reason="r")
    success, refunded = engine.events(tenant.id, p.id)
    assert success.payload == {
        "event": "payment.success", "payment_id": p.id, "status": "success",
        "amount": "5000.00", "currency": "INR", "timestamp": success.created_at.isoformat(),
    }  # fmt: skip
    assert refunded.type == "payment.refunded"
    for field in ("original_amount", "refund_amount", "refund_reason", "refund_id"):
        assert field in refunded.payload
    assert (refunded.payload["original_amount"], refunded.payload["refund_amount"]) == (
        "5000.00", "1000.00"
    )  # fmt: skip


def test_plain_creation_is_silent_and_audited(engine: Engine, tenant: Tenant) -> None:
    p = create(engine, tenant.id)
    assert engine.events(tenant.id, p.id) == []
    (row,) = engine.audit_history(tenant.id, p.id)
    assert (row.old_status, row.new_status, row.action, row.triggered_by) == (
        None, "pending", "create", "create_api"
    )  # fmt: skip


def test_metrics(engine: Engine, tenant: Tenant, clock: SimulatedClock) -> None:
    engine.create_fraud_rule({"name": "big", "rule_type": "amount_limit", "threshold": 1000})
    captured(engine, tenant.id, 100)
    create(engine, tenant.id, 5000)
    clock.advance(timedelta(days=2))
    create(engine, tenant.id, 30, currency="JPY")
    m = engine.metrics()
    payments = m["payments"]
    assert isinstance(payments, dict)
    assert payments["total"] == 3 and payments["last_24_hours"] == 1
    assert payments["by_status"]["success"] == 1 and payments["by_status"]["flagged"] == 1
    assert payments["by_currency"]["USD"] == {
        "count": 2, "volume_minor": 510000, "average_minor": 255000
    }  # fmt: skip
    assert m["fraud"] == {"total_flagged": 1, "flagged_last_24h": 0, "flag_rate_pct": 33.33}
    assert m["audit"] == {
        "total_transitions": 4, "payments_with_history": 3, "transitions_last_24h": 1
    }  # fmt: skip
    assert engine.metrics(tenant_id="nobody")["payments"]["total"] == 0  # type: ignore[index]
