"""The engine's books on every store: balances, the ledger paged, payouts on the clock and
on request, fee schedules, and reconciliation (which finds tampering)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from mockpay_core import Engine, SimulatedClock, Tenant
from mockpay_core.config import EngineConfig, LedgerConfig
from mockpay_core.domain.fees import DEFAULT
from mockpay_core.domain.model import PayoutStatus
from mockpay_core.domain.reconcile import WRONG
from mockpay_core.errors import AmountExceeded, NotFound, ValidationError
from tests.engine.helpers import captured

DAY = timedelta(days=1)


def net(amount_minor: int) -> int:
    return amount_minor - DEFAULT.fee_minor(amount_minor)


def available(engine: Engine, tenant_id: str, currency: str = "USD") -> int:
    return next(b.available_minor for b in engine.balance(tenant_id) if b.currency == currency)


def test_balances_per_currency(engine: Engine, tenant: Tenant, clock: SimulatedClock) -> None:
    captured(engine, tenant.id, 100)
    captured(engine, tenant.id, 1000, currency="JPY")
    (jpy, usd) = engine.balance(tenant.id)
    assert (jpy.currency, jpy.pending_minor) == ("JPY", net(1000))
    assert (usd.currency, usd.pending_minor, usd.available_minor) == ("USD", net(10_000), 0)
    clock.advance(2 * DAY)
    assert engine.run_due()["captures_settled"] == 2
    with pytest.raises(NotFound):
        engine.balance("nobody")


def test_the_ledger_pages_oldest_first(engine: Engine, tenant: Tenant) -> None:
    for _ in range(3):
        captured(engine, tenant.id, 100)
    first = engine.ledger(tenant.id, limit=4)
    rest = engine.ledger(tenant.id, starting_after=first.next_cursor, limit=100)
    assert first.has_more and not rest.has_more and rest.next_cursor is None
    assert [e.seq for e in first.data + rest.data] == list(range(1, 10))
    for bad in ({"limit": 0}, {"limit": "5"}, {"starting_after": "x"}):
        with pytest.raises(ValidationError):
            engine.ledger(tenant.id, **bad)


def test_scheduled_payouts_sweep_available_once_a_day(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    captured(engine, tenant.id, 100)
    assert "payouts_made" not in engine.run_due()  # all still pending: 0, not shown
    clock.advance(2 * DAY)
    engine.run_due()
    (paid,) = engine.payouts(tenant.id)
    assert (paid.amount_minor, paid.status, paid.method) == (net(10_000), PayoutStatus.PAID,
                                                               "scheduled")  # fmt: skip
    captured(engine, tenant.id, 50)
    clock.advance(2 * DAY)
    engine.settle_captures()
    assert available(engine, tenant.id) == net(5_000)
    assert engine.run_payouts() == 1 and engine.run_payouts() == 0
    assert available(engine, tenant.id) == 0 and engine.reconcile(tenant.id).ok


class Closed:
    """A store that fails any use: what an engine does with it between sweeps is nothing."""

    def reader(self) -> None:
        raise AssertionError("read the store between sweeps")

    unit_of_work = reader


def test_the_sweep_runs_once_per_window_and_costs_nothing_between(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    at_once = LedgerConfig(settlement_delay_s=0)
    config = EngineConfig(seed_default_fraud_rules=False, ledger=at_once)
    engine.ctx = dataclasses.replace(engine.ctx, config=config)
    assert engine.run_payouts() == 0  # this window's sweep: nothing available yet
    captured(engine, tenant.id, 100)
    assert engine.settle_captures() == 1 and available(engine, tenant.id) == net(10_000)
    open_ctx = engine.ctx
    engine.ctx = dataclasses.replace(open_ctx, store=Closed())  # type: ignore[arg-type]
    clock.advance(timedelta(hours=11, minutes=59))  # START is 12:00
    assert engine.run_payouts() == 0  # available since the sweep: waits for the next window
    engine.ctx = open_ctx
    clock.advance(timedelta(minutes=1))
    other = Engine(engine.store, clock=clock, config=config)  # a second process
    assert engine.run_payouts() == 1 and other.run_payouts() == 0
    assert available(engine, tenant.id) == 0 and len(engine.payouts(tenant.id)) == 1


def test_an_on_demand_payout_takes_at_most_what_is_available(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    with pytest.raises(AmountExceeded):
        engine.create_payout(tenant.id, currency="USD")
    captured(engine, tenant.id, 100)
    clock.advance(2 * DAY)
    engine.settle_captures()
    with pytest.raises(AmountExceeded) as exc:
        engine.create_payout(tenant.id, currency="USD", amount=100)
    assert exc.value.details == {"available_minor": net(10_000)}
    first = engine.create_payout(tenant.id, currency="usd", amount=10, idempotency_key="po-1")
    again = engine.create_payout(tenant.id, currency="USD", amount=10, idempotency_key="po-1")
    assert again.replayed and again.value == first.value
    assert available(engine, tenant.id) == net(10_000) - 1_000
    with pytest.raises(ValidationError):
        engine.create_payout(tenant.id, currency="XYZ")


def test_a_lost_dispute_drives_the_balance_negative_and_payouts_wait(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    p = captured(engine, tenant.id, 100)
    engine.open_dispute(tenant.id, p.id)
    engine.resolve_dispute(tenant.id, p.id, "lost")
    assert available(engine, tenant.id) == -10_000 - DEFAULT.dispute_fee_minor
    clock.advance(2 * DAY)
    engine.run_due()
    assert available(engine, tenant.id) == net(10_000) - 10_000 - DEFAULT.dispute_fee_minor
    assert engine.payouts(tenant.id) == [] and engine.reconcile(tenant.id).ok


def test_failed_payouts_give_the_money_back(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    failing = LedgerConfig(payout_failure_p=1.0)
    engine.ctx = dataclasses.replace(engine.ctx, config=EngineConfig(ledger=failing))
    captured(engine, tenant.id, 100)
    clock.advance(2 * DAY)
    engine.run_due()
    (failed,) = engine.payouts(tenant.id)
    assert (failed.status, failed.failure_code) == (PayoutStatus.FAILED, "could_not_process")
    assert available(engine, tenant.id) == net(10_000) and engine.reconcile(tenant.id).ok


def test_each_payout_is_announced_in_the_outbox_with_no_delivery_of_its_own(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    captured(engine, tenant.id, 100)
    clock.advance(2 * DAY)
    engine.settle_captures()
    paid = engine.create_payout(tenant.id, currency="USD", amount=10).value
    failing = EngineConfig(seed_default_fraud_rules=False, ledger=LedgerConfig(payout_failure_p=1))
    engine.ctx = dataclasses.replace(engine.ctx, config=failing)
    failed = engine.create_payout(tenant.id, currency="USD", amount=20).value
    assert (paid.status, failed.status) == (PayoutStatus.PAID, PayoutStatus.FAILED)
    assert engine.get_payout(tenant.id, failed.id) == failed
    (announced,) = engine.events(tenant.id, paid.id)
    assert (announced.type, announced.payment_id) == ("payout.paid", paid.id)
    assert announced.payload | {"timestamp": ""} == {
        "event": "payout.paid", "payout_id": paid.id, "status": "paid", "amount": "10.00",
        "currency": "USD", "method": "on_demand", "failure_code": None, "timestamp": "",
    }  # fmt: skip
    (announced,) = engine.events(tenant.id, failed.id)
    assert (announced.type, announced.payload["failure_code"]) == (
        "payout.failed", "could_not_process",
    )  # fmt: skip
    # A payout has no payment's webhook_url: only WebhookEndpoints get its event (copies).
    assert {d.event_id for d in engine.deliveries(tenant.id)}.isdisjoint(
        {e.id for e in engine.events(tenant.id, limit=1000) if e.type.startswith("payout.")}
    )
    with pytest.raises(NotFound):
        engine.get_payout(tenant.id, "nope")


def test_fee_schedules_price_later_captures(engine: Engine, tenant: Tenant) -> None:
    before = captured(engine, tenant.id, 100)
    schedule = engine.set_fee_schedule(tenant.id, "USD", rate_bp=100, refund_returns_fee=True)
    assert engine.fee_schedule(tenant.id, "USD") == schedule
    assert engine.fee_schedule(tenant.id, "EUR") == DEFAULT
    after = captured(engine, tenant.id, 100)
    with engine.store.reader() as r:
        assert r.fee_charged(tenant.id, before.id) == DEFAULT.fee_minor(10_000)
        assert r.fee_charged(tenant.id, after.id) == 100 + 30
    engine.refund(tenant.id, after.id, 60)
    engine.refund(tenant.id, after.id, 40)
    engine.refund(tenant.id, before.id, 100)  # refunded now: its fee comes back too
    (usd,) = engine.balance(tenant.id)
    assert usd.pending_minor + usd.available_minor == 0
    assert engine.reconcile(tenant.id).ok
    with pytest.raises(ValidationError):
        engine.set_fee_schedule(tenant.id, "USD", rate_bp=-1)
    with pytest.raises(ValidationError):
        engine.set_fee_schedule(tenant.id, "USD", percent=3)
    with pytest.raises(NotFound):
        engine.set_fee_schedule("nobody", "USD")


def test_reconcile_finds_a_tampered_record_and_a_tampered_entry(
    engine: Engine, tenant: Tenant
) -> None:
    p = captured(engine, tenant.id, 100)
    engine.refund(tenant.id, p.id, 10)
    assert engine.reconcile(tenant.id).to_data() == {
        "tenant_id": tenant.id, "ok": True, "differences": [],
    }  # fmt: skip
    with engine.store.tables() as t:
        t.tamper("UPDATE refunds SET amount_minor = ? WHERE payment_id = ?", (500, p.id))
    (diff,) = [d for d in engine.reconcile(tenant.id).differences if d.account == "funds"]
    assert (diff.currency, diff.expected_minor - diff.actual_minor) == ("USD", 500)
    with engine.store.tables() as t:  # behind the ledger's triggers, as the audit log's
        t.tamper("UPDATE ledger_entries SET amount_minor = 1 WHERE seq = 2")
    found = engine.reconcile(tenant.id)
    assert not found.ok and not engine.verify_ledger(tenant.id).ok
    reasons = {d.reason.split(":")[0] for d in found.differences}
    assert "the ledger's chain breaks" in reasons
    assert "a transaction whose debits are not its credits" in reasons


def test_reconcile_checks_the_split_of_pending_and_available(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    captured(engine, tenant.id, 100)
    clock.advance(2 * DAY)
    captured(engine, tenant.id, 50)  # still pending at the end
    engine.settle_captures()
    assert engine.reconcile(tenant.id).ok
    with engine.store.tables() as t:  # a settlement that moved 1.00 too little, still balanced
        t.tamper("UPDATE ledger_entries SET amount_minor = amount_minor - 100"
                 " WHERE kind = 'settlement'")  # fmt: skip
    found = {d.account: d for d in engine.reconcile(tenant.id).differences if d.reason == WRONG}
    assert set(found) == {"pending", "available"}  # funds, fees and network agree
    pending, available = found["pending"], found["available"]
    assert (pending.currency, pending.expected_minor, pending.actual_minor) == (
        "USD", net(5_000), net(5_000) + 100,
    )  # fmt: skip
    assert (available.expected_minor, available.actual_minor) == (net(10_000), net(10_000) - 100)
