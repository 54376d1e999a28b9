"""Money movements write their ledger entries in the unit of work of their change, on
every store: captures, releases, refunds, disputes and settlement."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from mockpay_core import Engine, SimulatedClock, Tenant
from mockpay_core.config import EngineConfig, LedgerConfig
from mockpay_core.domain import ledger_chain
from mockpay_core.domain.fees import DEFAULT
from mockpay_core.errors import AmountExceeded
from mockpay_core.service import ledger
from tests.engine.helpers import captured, create


def balances(engine: Engine, tenant_id: str) -> dict[str, int]:
    with engine.store.reader() as r:
        return {account: v for (_, account), v in r.ledger_balances(tenant_id).items()}


def kinds(engine: Engine, tenant_id: str) -> list[str]:
    with engine.store.reader() as r:
        found = [e.transaction_id.split(":")[0] for e in r.ledger_entries(tenant_id, 0, 1000)]
    return list(dict.fromkeys(found))


def test_a_capture_and_its_refunds(engine: Engine, tenant: Tenant) -> None:
    p = captured(engine, tenant.id, 100)
    engine.refund(tenant.id, p.id, 10)
    engine.refund(tenant.id, p.id, 5)
    fee = DEFAULT.fee_minor(10_000)
    assert balances(engine, tenant.id) == {
        "pending": 10_000 - fee, "available": -1_500, "fees": fee, "network": -8_500,
    }  # fmt: skip
    with engine.store.reader() as r:
        assert ledger_chain.verify(r.ledger_chain(tenant.id)).ok
        assert r.unbalanced_transactions(tenant.id) == []
        assert r.fee_charged(tenant.id, p.id) == fee


def test_a_partial_capture_releases_the_rest_and_a_void_all(engine: Engine, tenant: Tenant) -> None:
    p = create(engine, tenant.id, 100, capture_method="manual")
    engine.simulate(tenant.id, p.id, "success")
    assert balances(engine, tenant.id) == {"authorized": 10_000, "network": -10_000}
    engine.capture(tenant.id, p.id, amount=60)
    q = create(engine, tenant.id, 20, capture_method="manual")
    engine.simulate(tenant.id, q.id, "success")
    engine.cancel(tenant.id, q.id)
    fee = DEFAULT.fee_minor(6_000)
    assert balances(engine, tenant.id) == {
        "authorized": 0, "pending": 6_000 - fee, "fees": fee, "network": -6_000,
    }  # fmt: skip
    assert kinds(engine, tenant.id) == ["authorization", "capture", "release"]


def test_disputes_reserve_then_release_or_lose(engine: Engine, tenant: Tenant) -> None:
    won, lost = captured(engine, tenant.id, 100), captured(engine, tenant.id, 50)
    engine.open_dispute(tenant.id, won.id)
    engine.open_dispute(tenant.id, lost.id, amount=30)
    assert balances(engine, tenant.id)["reserved"] == 13_000
    engine.resolve_dispute(tenant.id, won.id, "won")
    engine.resolve_dispute(tenant.id, lost.id, "lost")
    got = balances(engine, tenant.id)
    dispute_fees = 2 * DEFAULT.dispute_fee_minor
    assert got["reserved"] == 0 and got["available"] == -3_000 - dispute_fees
    assert got["fees"] == DEFAULT.fee_minor(10_000) + DEFAULT.fee_minor(5_000) + dispute_fees
    assert sum(got.values()) == 0


def test_a_refused_or_replayed_command_writes_no_entries(engine: Engine, tenant: Tenant) -> None:
    p = captured(engine, tenant.id, 100)
    engine.refund(tenant.id, p.id, 10, idempotency_key="r-1")
    engine.refund(tenant.id, p.id, 10, idempotency_key="r-1")
    with pytest.raises(AmountExceeded):
        engine.refund(tenant.id, p.id, 95)
    with engine.store.reader() as r:
        assert len(r.ledger_entries(tenant.id, 0, 100)) == 3 + 2


def test_entries_roll_back_with_the_change(engine: Engine, tenant: Tenant) -> None:
    p = create(engine, tenant.id, 100)

    def boom(*_: object) -> list[object]:
        raise RuntimeError("crash after the ledger's writes, before the commit")

    engine.set_fanout(boom)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        engine.simulate(tenant.id, p.id, "success")
    assert balances(engine, tenant.id) == {}
    assert engine.get_payment(tenant.id, p.id).status.value == "pending"


def test_captures_settle_after_the_delay_once(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    captured(engine, tenant.id, 100)
    net = 10_000 - DEFAULT.fee_minor(10_000)
    clock.advance(timedelta(days=2) - timedelta(seconds=1))
    assert ledger.settle_due(engine.ctx) == 0
    clock.advance(1)
    assert ledger.settle_due(engine.ctx) == 1
    assert ledger.settle_due(engine.ctx) == 0
    assert balances(engine, tenant.id) == {
        "pending": 0, "available": net, "fees": 10_000 - net, "network": -10_000,
    }  # fmt: skip
    assert kinds(engine, tenant.id)[-1] == "settlement"


def test_the_ledger_can_be_off(engine: Engine, tenant: Tenant) -> None:
    off = dataclasses.replace(engine.ctx, config=EngineConfig(ledger=LedgerConfig(enabled=False)))
    engine.ctx = off
    p = captured(engine, tenant.id, 100)
    engine.refund(tenant.id, p.id, 10)
    assert balances(engine, tenant.id) == {}
