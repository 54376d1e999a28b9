"""Payouts: a tenant's available balance sent to its bank, on a schedule or on request.

One payout per tenant and currency at a time, under the tenant's lock, so refunds and
disputes racing it are ordered before or after it: a payout takes at most what is
available then, and never takes the available balance below zero (a negative balance,
after a lost dispute, is carried until captures cover it).

Scheduled payouts sweep once per ``payout_interval_s`` window of the engine's clock (daily:
once per UTC day), at the window's first ``run_due``: each tenant's positive available
balance per currency then. Money that becomes available later in the window waits for the
next sweep, as a daily payout does. ``Sweeps`` remembers the window it swept, so the
server's 0.2 s tick costs nothing until the next window starts (the sweep itself reads
every tenant's balances). A tenant and currency get at most one scheduled payout per
window even when several processes, or a restarted one, sweep it; such a later sweep pays
a tenant whom an earlier one in the window found with nothing available.

Whether a payout fails is drawn from its id's hash against ``payout_failure_p`` (a seeded
run replays it); a failed payout's money comes back to available. Each payout writes a
``payout.paid`` or ``payout.failed`` event in its unit of work (``announce``). Ids (the
payout's, its event's: UUIDs like every engine id) are derived from the tenant, currency
and ledger position, so payouts never draw on the run's id source.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from typing import Final

from mockpay_core.domain import ledger
from mockpay_core.domain import validation as v
from mockpay_core.domain.ledger import Account
from mockpay_core.domain.model import Event, Outcome, Payout, PayoutStatus
from mockpay_core.domain.money import format_major, parse_currency, to_minor
from mockpay_core.domain.validation import collect
from mockpay_core.errors import BalanceInsufficient, NotFound
from mockpay_core.ids import uuid7
from mockpay_core.service import idempotency
from mockpay_core.service import ledger as books
from mockpay_core.service.context import Context
from mockpay_core.storage.protocol import Reader, UnitOfWork

SCHEDULED, ON_DEMAND = "scheduled", "on_demand"
FAILURE_CODE: Final = "could_not_process"
PAYOUTS_LIMIT_MAX: Final = 100


EVENT_TYPES: Final = {PayoutStatus.PAID: "payout.paid", PayoutStatus.FAILED: "payout.failed"}
PAYLOAD_AMOUNT_PLACES: Final = 2  # as the payment events' ("96.80")


def _derived_id(now: datetime, *parts: object) -> str:
    """A time-ordered UUID whose random bits are the hash of ``parts``."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return uuid7(int(now.timestamp() * 1000), int.from_bytes(digest[:10]) >> 6)


def _fails(ctx: Context, payout_id: str) -> bool:
    draw = int(hashlib.sha256(payout_id.encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    return draw < ctx.config.ledger.payout_failure_p


def announce(uow: UnitOfWork, ctx: Context, payout: Payout) -> Event:
    """The payout's event, in the outbox with the payout. Its ``payment_id`` is the payout's
    id (an event's subject). Only the tenant's WebhookEndpoints are sent it (the fan-out's
    copies): a payout has no payment whose ``webhook_url`` it could go to."""
    kind = EVENT_TYPES[payout.status]
    payload = {
        "event": kind,
        "payout_id": payout.id,
        "status": payout.status.value,
        "amount": format_major(payout.amount_minor, payout.currency, PAYLOAD_AMOUNT_PLACES),
        "currency": payout.currency,
        "method": payout.method,
        "failure_code": payout.failure_code,
        "timestamp": payout.created_at.isoformat(),
    }
    at = payout.created_at
    event = Event(_derived_id(at, payout.id, kind), payout.tenant_id, payout.id, kind, payload, at)
    uow.insert_event(event, deliver=False)
    if ctx.fanout is not None:
        for copy in ctx.fanout(uow, ctx.ids, event, payout):
            uow.insert_event(copy)
    return event


def pay(
    uow: UnitOfWork, ctx: Context, now: datetime, tenant_id: str, currency: str, amount: int,
    method: str,
) -> Payout:  # fmt: skip
    """Write one payout of ``amount`` (at most what is available: checked by the caller
    under the tenant's lock) and its ledger transactions."""
    payout_id = _derived_id(now, tenant_id, currency, uow.ledger_head(tenant_id))
    paid = not _fails(ctx, payout_id)
    payout = Payout(
        payout_id, tenant_id, currency, amount, PayoutStatus.PAID if paid else PayoutStatus.FAILED,
        None if paid else FAILURE_CODE, method, now,
    )  # fmt: skip
    uow.insert_payout(payout)
    books.record(uow, ctx, now, tenant_id, None, ledger.payout(payout_id, currency, amount,
                                                                paid=paid))  # fmt: skip
    announce(uow, ctx, payout)
    return payout


def _available(r: Reader, tenant_id: str) -> dict[str, int]:
    return {
        currency: amount
        for (currency, account), amount in r.ledger_balances(tenant_id).items()
        if account == Account.AVAILABLE.value
    }


def request(
    ctx: Context,
    tenant_id: str,
    *,
    currency: object,
    amount: object = None,
    idempotency_key: object = None,
) -> Outcome[Payout]:
    """An on-demand payout of ``amount`` (major units; all that is available if None)."""
    cur, key = collect(
        lambda: parse_currency(currency),
        lambda: v.idempotency_key(idempotency_key, required=False),
    )
    wanted = None if amount is None else to_minor(amount, cur)

    def execute(uow: UnitOfWork, now: datetime) -> Payout:
        if not uow.lock_tenant(tenant_id):
            raise NotFound("tenant", tenant_id)
        available = _available(uow, tenant_id).get(cur, 0)
        take = available if wanted is None else wanted
        if take <= 0 or take > available:
            balance = f"{format_major(available, cur)} {cur}"
            raise BalanceInsufficient(
                f"A payout of {format_major(take, cur)} exceeds the available balance of {balance}"
                if take > 0
                else f"Nothing is available to pay out (the available balance is {balance})",
                details={"available_minor": available},
            )
        return pay(uow, ctx, now, tenant_id, cur, take, ON_DEMAND)

    params = {"currency": cur, "amount": None if wanted is None else wanted}
    fp = idempotency.fingerprint("payout", None, params)
    return idempotency.run(ctx, tenant_id, key, "payout", fp, execute, Payout.from_data)


def window_start(now: datetime, interval_s: int) -> datetime:
    """The start of the payout window ``now`` is in (windows are aligned to the epoch)."""
    return datetime.fromtimestamp(now.timestamp() // interval_s * interval_s, now.tzinfo)


class Sweeps:
    """The scheduled sweep of one engine: run once per window, nothing between."""

    def __init__(self) -> None:
        self._swept: datetime | None = None
        self._lock = threading.Lock()

    def run(self, ctx: Context) -> int:
        """Sweep the clock's current window if this engine has not yet; payouts made."""
        now = ctx.clock.now()
        window = window_start(now, ctx.config.ledger.payout_interval_s)
        with self._lock:
            if window == self._swept:
                return 0
            made = sweep(ctx, now, window)
            self._swept = window  # only once the sweep committed: a failed one is tried again
            return made


def sweep(ctx: Context, now: datetime, window: datetime) -> int:
    """Pay out every tenant's positive available balance per currency, unless a scheduled
    payout already did in ``window``; how many were made."""
    with ctx.store.reader() as r:
        due = [t.id for t in r.list_tenants() if _owed(r, t.id)]
    made = 0
    for tenant_id in due:
        with ctx.store.unit_of_work() as uow:
            uow.lock_tenant(tenant_id)
            recent = uow.payouts(tenant_id, PAYOUTS_LIMIT_MAX)
            done = {p.currency for p in recent if p.method == SCHEDULED and p.created_at >= window}
            for currency, amount in sorted(_available(uow, tenant_id).items()):
                if amount > 0 and currency not in done:
                    pay(uow, ctx, now, tenant_id, currency, amount, SCHEDULED)
                    made += 1
    return made


def _owed(r: Reader, tenant_id: str) -> bool:
    return any(amount > 0 for amount in _available(r, tenant_id).values())
