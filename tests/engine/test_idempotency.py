"""Idempotency keys: replay, reuse, errors stored, validation not stored, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mockpay_core import Engine, SeededIds, SimulatedClock, Tenant
from mockpay_core.config import EngineConfig
from mockpay_core.errors import (
    AmountExceeded,
    IdempotencyKeyReused,
    InvalidTransition,
    NotFound,
    ValidationError,
)
from mockpay_core.storage.protocol import Store
from tests.engine.helpers import HOOK, captured, create


def _create(engine: Engine, tenant_id: str, key: str, amount: object = 10, **kw: object):  # type: ignore[no-untyped-def]
    return engine.create_payment(
        tenant_id, amount=amount, currency="USD", webhook_url=HOOK, idempotency_key=key, **kw
    )


def test_same_key_same_request_replays_the_first_result(engine: Engine, tenant: Tenant) -> None:
    first = _create(engine, tenant.id, "k1")
    engine.simulate(tenant.id, first.value.id, "success")
    again = _create(engine, tenant.id, "k1", amount=10.00)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.value == first.value  # the first response, not today's state
    assert len(engine.list_payments(tenant.id).data) == 1


def test_same_key_other_request_is_rejected_and_changes_nothing(
    engine: Engine, tenant: Tenant
) -> None:
    first = _create(engine, tenant.id, "k1").value
    for changed in ({"amount": 11}, {"customer": "c"}, {"capture_method": "manual"}):
        with pytest.raises(IdempotencyKeyReused):
            _create(engine, tenant.id, "k1", **changed)  # type: ignore[arg-type]
    assert engine.list_payments(tenant.id).data == [first]


def test_keys_are_per_tenant(engine: Engine, tenant: Tenant) -> None:
    other = engine.register_tenant("Other", "o@x.test").tenant
    a, b = _create(engine, tenant.id, "k1").value, _create(engine, other.id, "k1").value
    assert a.id != b.id and b.tenant_id == other.id


def test_an_error_after_execution_began_is_stored_and_replayed(
    engine: Engine, tenant: Tenant
) -> None:
    p = captured(engine, tenant.id, 10)
    with pytest.raises(AmountExceeded) as first:
        engine.refund(tenant.id, p.id, 50, idempotency_key="r1")
    assert not first.value.replayed
    with pytest.raises(AmountExceeded) as again:
        engine.refund(tenant.id, p.id, 50, idempotency_key="r1")
    assert again.value.replayed and again.value == first.value
    with pytest.raises(NotFound) as missing:
        engine.cancel(tenant.id, "nope", idempotency_key="c1")
    with pytest.raises(NotFound) as missing_again:
        engine.cancel(tenant.id, "nope", idempotency_key="c1")
    assert missing_again.value.replayed and missing_again.value == missing.value


def test_the_replayed_error_does_not_re_execute(engine: Engine, tenant: Tenant) -> None:
    p = create(engine, tenant.id)
    with pytest.raises(InvalidTransition):
        engine.capture(tenant.id, p.id, idempotency_key="cap")  # pending: not capturable yet
    engine.simulate(tenant.id, p.id, "success")
    with pytest.raises(InvalidTransition) as replay:
        engine.capture(tenant.id, p.id, idempotency_key="cap")
    assert replay.value.replayed


def test_validation_errors_are_not_stored(engine: Engine, tenant: Tenant) -> None:
    with pytest.raises(ValidationError):
        _create(engine, tenant.id, "k1", amount=0.001)
    fixed = _create(engine, tenant.id, "k1", amount=0.01)
    assert not fixed.replayed and fixed.value.amount_minor == 1


def test_validation_inside_execution_is_not_stored_either(engine: Engine, tenant: Tenant) -> None:
    p = create(engine, tenant.id, 3000, currency="JPY")
    engine.simulate(tenant.id, p.id, "success")
    with pytest.raises(ValidationError, match="JPY allows at most 0 decimal places"):
        engine.refund(tenant.id, p.id, 1.5, idempotency_key="r")
    assert not engine.refund(tenant.id, p.id, 1, idempotency_key="r").replayed


def test_commands_replay(engine: Engine, tenant: Tenant) -> None:
    p = create(engine, tenant.id, 100)
    s1 = engine.simulate(tenant.id, p.id, "success", idempotency_key="s")
    s2 = engine.simulate(tenant.id, p.id, "success", idempotency_key="s")
    assert s2.replayed and s2.value == s1.value
    r1 = engine.refund(tenant.id, p.id, 10, idempotency_key="r")
    r2 = engine.refund(tenant.id, p.id, 10, idempotency_key="r")
    assert r2.replayed and r2.value == r1.value
    assert len(engine.refunds(tenant.id, p.id)) == 1
    assert len(engine.audit_history(tenant.id, p.id)) == 3


def test_keys_expire_after_the_ttl(engine: Engine, tenant: Tenant, clock: SimulatedClock) -> None:
    first = _create(engine, tenant.id, "k1").value
    clock.advance(timedelta(hours=24) - timedelta(microseconds=1))
    assert _create(engine, tenant.id, "k1").replayed
    clock.advance(timedelta(microseconds=1))
    fresh = _create(engine, tenant.id, "k1", amount=99)
    assert not fresh.replayed and fresh.value.id != first.id
    assert _create(engine, tenant.id, "k1", amount=99).replayed


def test_expired_keys_are_purged(engine: Engine, tenant: Tenant, clock: SimulatedClock) -> None:
    for i in range(3):
        _create(engine, tenant.id, f"k{i}")
    clock.advance(timedelta(days=1))
    assert engine.run_due()["idempotency_keys_purged"] == 3
    assert engine.purge_idempotency_keys() == 0


def test_the_same_amount_written_differently_is_the_same_request(
    engine: Engine, tenant: Tenant
) -> None:
    p = captured(engine, tenant.id, 100, currency="INR")
    assert not engine.refund(tenant.id, p.id, 10, idempotency_key="r1").replayed
    assert engine.refund(tenant.id, p.id, 10.0, idempotency_key="r1").replayed
    q = create(engine, tenant.id, 100, currency="INR", capture_method="manual")
    engine.simulate(tenant.id, q.id, "success")
    with pytest.raises(ValidationError, match="INR allows at most 2 decimal places"):
        engine.capture(tenant.id, q.id, amount=0.001)
    assert not engine.capture(tenant.id, q.id, amount=50, idempotency_key="c").replayed
    assert engine.capture(tenant.id, q.id, amount=50.00, idempotency_key="c").replayed


def test_with_idempotency_switched_off_every_retry_charges_again(
    store: Store, clock: SimulatedClock
) -> None:
    config = EngineConfig(idempotency=False, seed_default_fraud_rules=False)
    engine = Engine(store, clock=clock, ids=SeededIds(1), config=config)
    tenant = engine.register_tenant("Off", "off@x.test").tenant
    outcomes = [_create(engine, tenant.id, "k1") for _ in range(3)]
    assert [o.replayed for o in outcomes] == [False, False, False]
    assert len({o.value.id for o in outcomes}) == 3
    assert len(engine.list_payments(tenant.id).data) == 3
