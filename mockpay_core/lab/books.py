"""Following the money, for notebook 10: one payment's life as ledger entries, a month of
one shop (its T-accounts, fees, pending and available day by day, payouts), a lost dispute
that drives the balance negative, and a reconciliation that finds a tampered entry.

Each runs on a fresh in-memory engine on a simulated clock with seeded ids, so a run
replays exactly. The clock moves an hour at a time and the engine's due work runs at each
step (``run_due``: settlement, then the day's payout sweep at its first run), as the
server's background tick would. Amounts come back in minor units (cents).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from mockpay_core.clock import SimulatedClock
from mockpay_core.config import DAY_S, EngineConfig, LedgerConfig
from mockpay_core.domain.fees import DEFAULT
from mockpay_core.domain.model import LedgerEntry
from mockpay_core.engine import Engine
from mockpay_core.ids import SeededIds

HOOK: Final = "http://shop.receiver.test/webhooks"
START: Final = datetime(2026, 1, 1, tzinfo=UTC)
ACCOUNTS: Final = ("network", "authorized", "pending", "available", "reserved", "fees")


def _engine(
    clock: SimulatedClock, settlement_delay_days: float = 2, payout_failure_p: float = 0.0
) -> tuple[Engine, str]:
    ledger = LedgerConfig(settlement_delay_s=int(settlement_delay_days * DAY_S),
                          payout_failure_p=payout_failure_p)  # fmt: skip
    config = EngineConfig(seed_default_fraud_rules=False, ledger=ledger)
    engine = Engine.open(":memory:", clock=clock, ids=SeededIds(10), config=config)
    return engine, engine.register_tenant("Shop", "books@shop.test").tenant.id


def _at(engine: Engine, clock: SimulatedClock, day: int, hour: int) -> None:
    """The clock to ``hour`` of ``day``, and what is due then done."""
    clock.set(START + timedelta(days=day, hours=hour))
    engine.run_due()


def _paid(engine: Engine, tenant: str, key: str, amount: float) -> str:
    p = engine.create_payment(tenant, amount=amount, currency="USD", webhook_url=HOOK,
                              idempotency_key=key).value  # fmt: skip
    engine.simulate(tenant, p.id, "success")
    return p.id


def _all_entries(engine: Engine, tenant: str) -> Iterator[LedgerEntry]:
    after = None
    while True:
        page = engine.ledger(tenant, starting_after=after, limit=1000)
        yield from page.data
        if not page.has_more:
            return
        after = page.next_cursor


def entry_rows(engine: Engine, tenant: str) -> list[dict[str, Any]]:
    """Every entry of the tenant's ledger as a row: debits and credits in their columns."""
    return [
        {"seq": e.seq, "day": (e.created_at - START).days, "transaction": e.kind,
         "account": e.account,
         "debit_minor": e.amount_minor if e.direction == "debit" else 0,
         "credit_minor": e.amount_minor if e.direction == "credit" else 0}
        for e in _all_entries(engine, tenant)
    ]  # fmt: skip


def t_accounts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each account's debits, credits and balance (credits less debits: what is owed to
    the account's owner) over ``rows`` (``entry_rows``)."""
    found = []
    for account in ACCOUNTS:
        mine = [r for r in rows if r["account"] == account]
        debits = sum(r["debit_minor"] for r in mine)
        credits = sum(r["credit_minor"] for r in mine)
        found.append({"account": account, "debits_minor": debits, "credits_minor": credits,
                      "balance_minor": credits - debits})  # fmt: skip
    return found


def payment_life(amount: float = 100, refund: float = 10) -> list[dict[str, Any]]:
    """A payment of ``amount`` captured at 12:00 on day 0, ``refund`` of it refunded at
    once, then the clock run hour by hour to day 3: its entries, one row each."""
    clock = SimulatedClock(START)
    engine, tenant = _engine(clock)
    with engine:
        _at(engine, clock, 0, 12)
        pid = _paid(engine, tenant, "order-1", amount)
        engine.refund(tenant, pid, refund)
        for hour in range(13, 3 * 24 + 1):
            _at(engine, clock, 0, hour)
        return entry_rows(engine, tenant)


def fee_rows(amounts_minor: list[int]) -> list[dict[str, Any]]:
    """The default schedule's fee on each capture: 2.9 % of it (exact, then rounded half up
    to a cent), plus 30 cents."""
    return [
        {"captured_minor": a, "percent_exact": a * DEFAULT.rate_bp / 10_000,
         "fee_minor": DEFAULT.fee_minor(a), "net_minor": a - DEFAULT.fee_minor(a)}
        for a in amounts_minor
    ]  # fmt: skip


@dataclass
class Month:
    """A month of one shop: its balances at the end of each day (and its available balance
    just after the day's sweep: below zero, the sweep paid nothing), its payouts, its
    entries, and what ``reconcile`` said at the end."""

    days: list[dict[str, Any]] = field(default_factory=list)
    payouts: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    reconciled: bool = False
    differences: list[dict[str, Any]] = field(default_factory=list)


def _balances(engine: Engine, tenant: str) -> dict[str, int]:
    found = {b.currency: b for b in engine.balance(tenant)}
    usd = found.get("USD")
    if usd is None:
        return {"pending_minor": 0, "available_minor": 0, "reserved_minor": 0}
    return {"pending_minor": usd.pending_minor, "available_minor": usd.available_minor,
            "reserved_minor": usd.reserved_minor}  # fmt: skip


def month(
    days: int = 30, per_day: int = 3, seed: int = 10, settlement_delay_days: float = 2,
    lost_dispute_day: int | None = None, payout_failure_p: float = 0.0,
) -> Month:  # fmt: skip
    """``days`` of traffic: ``per_day`` payments a day at random hours (10.00-200.00), one
    in ten partly refunded the next day; on ``lost_dispute_day`` (if any) the day's first
    payment disputed in full and lost. Balances recorded at the end of each day."""
    rng = random.Random(seed)
    clock = SimulatedClock(START)
    engine, tenant = _engine(clock, settlement_delay_days, payout_failure_p)
    out = Month()
    with engine:
        refunds: dict[int, list[tuple[str, float]]] = {}
        for day in range(days):
            hours = sorted(rng.sample(range(24), per_day))
            amounts = dict(zip(hours, (round(rng.uniform(10, 200), 2) for _ in hours),
                               strict=True))  # fmt: skip
            for hour in range(24):
                _at(engine, clock, day, hour)
                if hour == 0:  # the day's first run: its sweep paid out what was available
                    swept = _balances(engine, tenant)["available_minor"]
                if hour == 9:
                    for pid, part in refunds.pop(day, []):
                        engine.refund(tenant, pid, part)
                if hour in amounts:
                    pid = _paid(engine, tenant, f"d{day}h{hour}", amounts[hour])
                    refunded = rng.random() < 0.1
                    if day == lost_dispute_day and hour == hours[0]:
                        engine.open_dispute(tenant, pid)
                        engine.resolve_dispute(tenant, pid, "lost")
                    elif refunded:
                        refunds.setdefault(day + 1, []).append((pid, round(amounts[hour] / 2, 2)))
            out.days.append({"day": day, **_balances(engine, tenant),
                             "available_after_sweep_minor": swept})  # fmt: skip
        _at(engine, clock, days, 0)
        out.payouts = [
            {"day": (p.created_at - START).days, "amount_minor": p.amount_minor,
             "status": p.status.value, "method": p.method}
            for p in reversed(engine.payouts(tenant))
        ]  # fmt: skip
        out.entries = entry_rows(engine, tenant)
        found = engine.reconcile(tenant)
        out.reconciled, out.differences = found.ok, [d.to_data() for d in found.differences]
    return out


def first_payout_day(settlement_delay_days: float, capture_hour: int = 12) -> int:
    """The day of the first payout of a payment captured on day 0 at ``capture_hour``."""
    clock = SimulatedClock(START)
    engine, tenant = _engine(clock, settlement_delay_days)
    with engine:
        _at(engine, clock, 0, capture_hour)
        _paid(engine, tenant, "order-1", 100)
        for hour in range(capture_hour + 1, 31 * 24):
            _at(engine, clock, 0, hour)
            made = engine.payouts(tenant)
            if made:
                return (made[0].created_at - START).days
    raise ValueError("no payout within 31 days")


def tampered(seq: int, by_minor: int = 100, days: int = 5) -> dict[str, Any]:
    """A few days of the month, then entry ``seq`` raised by ``by_minor`` behind the
    ledger's triggers (as an attacker with database access would): what the chain and
    ``reconcile`` say."""
    clock = SimulatedClock(START)
    engine, tenant = _engine(clock)
    with engine:
        rng = random.Random(10)
        for day in range(days):
            _at(engine, clock, day, 12)
            _paid(engine, tenant, f"d{day}", round(rng.uniform(10, 200), 2))
        before = engine.reconcile(tenant).ok
        with engine.store.tables() as t:
            changed = t.tamper(
                "UPDATE ledger_entries SET amount_minor = amount_minor + ?"
                " WHERE tenant_id = ? AND seq = ?",
                (by_minor, tenant, seq),
            )
        target = next((r for r in entry_rows(engine, tenant) if r["seq"] == seq), None)
        chain = engine.verify_ledger(tenant)
        found = engine.reconcile(tenant)
    return {
        "ok_before": before, "changed": changed, "entry": target, "chain_ok": chain.ok,
        "chain_broken_at": chain.broken_row_id, "ok_after": found.ok,
        "differences": [d.to_data() for d in found.differences],
    }  # fmt: skip
