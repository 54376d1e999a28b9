"""Engine.update_payment: a payment's own fields change without a transition."""

from __future__ import annotations

import pytest

from mockpay_core import Engine, SimulatedClock, Status, Tenant
from mockpay_core.errors import IdempotencyKeyReused, InvalidTransition, NotFound, ValidationError
from mockpay_core.service.updates import merged_metadata
from tests.engine.helpers import captured, create


def test_metadata_merges_an_empty_value_removes_and_clear_empties() -> None:
    now = {"a": "1", "b": "2"}
    assert merged_metadata(now, {"b": "", "c": "3"}, clear=False) == {"a": "1", "c": "3"}
    assert merged_metadata(now, {"c": "3"}, clear=True) == {"c": "3"}
    assert merged_metadata(now, {"zz": ""}, clear=False) == now
    with pytest.raises(ValidationError):
        merged_metadata({f"k{i}": "v" for i in range(50)}, {"one_more": "v"}, clear=False)


def test_update_in_any_state_writes_an_audit_row_and_no_event(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    p = captured(engine, tenant.id, metadata={"order": "1", "gone": "x"}, description="Mug")
    events_before = len(engine.events(tenant.id, p.id))
    clock.advance(5)
    out = engine.update_payment(
        tenant.id, p.id, metadata={"gone": "", "ship": "fast"}, description=""
    )
    q = out.value
    assert (q.status, q.metadata, q.description) == (
        Status.SUCCESS,
        {"order": "1", "ship": "fast"},
        None,
    )
    assert q.updated_at == clock.now() and q.captured_minor == p.captured_minor
    assert engine.get_payment(tenant.id, p.id) == q
    last = engine.audit_history(tenant.id, p.id)[-1]
    assert (last.action, last.old_status, last.new_status) == ("update", "success", "success")
    assert last.metadata == {"changed": ["description", "metadata"]}
    assert len(engine.events(tenant.id, p.id)) == events_before
    assert engine.verify_audit(tenant.id).ok


def test_an_update_that_changes_nothing_writes_nothing(engine: Engine, tenant: Tenant) -> None:
    p = create(engine, tenant.id, metadata={"a": "1"})
    rows = len(engine.audit_history(tenant.id, p.id))
    assert engine.update_payment(tenant.id, p.id, metadata={"a": "1"}).value == p
    assert len(engine.audit_history(tenant.id, p.id)) == rows


def test_the_payment_method_changes_only_before_confirm(engine: Engine, tenant: Tenant) -> None:
    p = create(engine, tenant.id, payment_method="pm_card_visa")
    assert p.payment_method == "pm_card_visa"
    q = engine.update_payment(tenant.id, p.id, payment_method="pm_card_mastercard").value
    assert q.payment_method == "pm_card_mastercard"
    done = captured(engine, tenant.id)
    with pytest.raises(InvalidTransition):
        engine.update_payment(tenant.id, done.id, payment_method="pm_card_visa")


def test_updates_are_idempotent_and_validated(engine: Engine, tenant: Tenant) -> None:
    p = create(engine, tenant.id)
    first = engine.update_payment(tenant.id, p.id, metadata={"a": "1"}, idempotency_key="u1")
    again = engine.update_payment(tenant.id, p.id, metadata={"a": "1"}, idempotency_key="u1")
    assert (first.replayed, again.replayed, again.value) == (False, True, first.value)
    with pytest.raises(IdempotencyKeyReused):
        engine.update_payment(tenant.id, p.id, metadata={"a": "2"}, idempotency_key="u1")
    with pytest.raises(ValidationError) as bad:
        engine.update_payment(tenant.id, p.id, metadata={"k": 1}, description="x" * 1001)
    assert [f for f, _ in bad.value.errors] == ["metadata.k", "description"]
    with pytest.raises(NotFound):
        engine.update_payment("other-tenant", p.id, description="x")


def test_cancel_keeps_its_reason_on_the_payment(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    p = create(engine, tenant.id)
    kept = engine.cancel(tenant.id, p.id, cancellation_reason="duplicate").value
    assert kept.cancellation_reason == "duplicate"
    assert engine.audit_history(tenant.id, p.id)[-1].metadata == {"reason": "duplicate"}
    free = create(engine, tenant.id)  # /api's free-text reason stays in the audit row only
    assert engine.cancel(tenant.id, free.id, reason="left").value.cancellation_reason is None
    assert "cancellation_reason" not in engine.get_payment(tenant.id, free.id).to_data()
    q = create(engine, tenant.id, capture_method="manual")
    engine.simulate(tenant.id, q.id, "success")
    clock.advance(engine.ctx.config.authorization_ttl_s + 1)
    engine.run_due()
    assert engine.get_payment(tenant.id, q.id).cancellation_reason == "authorization_expired"


def test_the_request_extra_is_part_of_the_fingerprint(engine: Engine, tenant: Tenant) -> None:
    args = {"amount": 5, "currency": "USD", "webhook_url": "http://127.0.0.1:4000/h"}
    first = engine.create_payment(
        tenant.id, **args, idempotency_key="x1", request_extra={"stripe": "a"}
    )
    again = engine.create_payment(
        tenant.id, **args, idempotency_key="x1", request_extra={"stripe": "a"}
    )
    assert again.replayed and again.value == first.value
    with pytest.raises(IdempotencyKeyReused):
        engine.create_payment(
            tenant.id, **args, idempotency_key="x1", request_extra={"stripe": "b"}
        )
