"""Writing the books: each money movement's ledger transactions, in the unit of work of the
change that causes it (the outbox rule applied to money), chained per tenant.

``transitions.apply`` calls ``on_transition`` for every state change, so no capture,
refund or dispute exists without its entries, nor entries without it. Settlement and
payouts (``settle_due``, ``service.payouts``) write theirs the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from mockpay_core.domain import ledger, ledger_chain
from mockpay_core.domain.fees import FeeSchedule
from mockpay_core.domain.ledger import Account, Transaction
from mockpay_core.domain.model import Fee, Payment
from mockpay_core.domain.states import Action
from mockpay_core.service.context import Context
from mockpay_core.storage.protocol import Reader, UnitOfWork

SETTLE_LIMIT_MAX: Final = 10_000
# The actions whose money needs the fee schedule (the others move no fee).
_PRICED: Final = frozenset({Action.SUCCEED, Action.CAPTURE, Action.REFUND, Action.OPEN_DISPUTE})


@dataclass(frozen=True, slots=True)
class Moved:
    """A refund's or dispute's part in a transition: its id and amount."""

    source_id: str
    amount_minor: int


def schedule_for(ctx: Context, r: Reader, tenant_id: str, currency: str) -> FeeSchedule:
    """The admin's schedule for the tenant and currency, else the configured default."""
    return r.fee_schedule(tenant_id, currency) or ctx.config.ledger.fees


def on_transition(
    uow: UnitOfWork,
    ctx: Context,
    now: datetime,
    before: Payment | None,
    after: Payment,
    action: Action,
    moved: Moved | None,
) -> None:
    """Write the money ``action`` moved, if any (nothing while the ledger is off)."""
    if not ctx.config.ledger.enabled or action not in ledger.MOVES_MONEY:
        return
    fees = ctx.config.ledger.fees
    if action in _PRICED:
        fees = schedule_for(ctx, uow, after.tenant_id, after.currency)
    charged = 0
    if action is Action.REFUND and fees.refund_returns_fee:
        charged = uow.fee_charged(after.tenant_id, after.id)
    moves = ledger.for_transition(
        before, after, action, fees,
        source_id=moved.source_id if moved else None,
        amount_minor=moved.amount_minor if moved else 0,
        fee_charged_minor=charged,
    )  # fmt: skip
    record(uow, ctx, now, after.tenant_id, after.id, moves)


def record(
    uow: UnitOfWork,
    ctx: Context,
    now: datetime,
    tenant_id: str,
    payment_id: str | None,
    transactions: Sequence[Transaction],
) -> None:
    """Append ``transactions`` to the tenant's chain (one INSERT each) and their fees."""
    if not transactions:
        return
    settles_on = now + timedelta(seconds=ctx.config.ledger.settlement_delay_s)
    head = uow.ledger_head(tenant_id)
    chained = ledger_chain.chain(tenant_id, payment_id, head, transactions, now, settles_on)
    for t, rows in zip(transactions, chained, strict=True):
        uow.insert_ledger_entries(rows)
        fee = sum(e.signed_minor for e in t.entries if e.account is Account.FEES)
        if fee and payment_id is not None:
            uow.insert_fee(Fee(t.id, tenant_id, payment_id, t.kind.value, t.currency, fee, now))


def settle_due(ctx: Context, limit: int = 1000) -> int:
    """Move every capture whose settlement delay has passed from pending to available (at
    most ``limit``); how many were."""
    now = ctx.clock.now()
    limit = max(1, min(limit, SETTLE_LIMIT_MAX))
    with ctx.store.unit_of_work() as uow:
        tenants = sorted({e.tenant_id for e in uow.due_settlements(now, limit)})
        locked = {t for t in tenants if uow.lock_tenant(t)}
        # Read again under the locks: a settlement another writer made meanwhile is seen.
        due = [e for e in uow.due_settlements(now, limit) if e.tenant_id in locked]
        for e in due:
            moves = ledger.settlement(e.payment_id or e.source_id, e.currency, e.amount_minor)
            record(uow, ctx, now, e.tenant_id, e.payment_id, moves)
    return len(due)
