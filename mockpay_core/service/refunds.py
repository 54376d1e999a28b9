"""Money going back: refunds (several partial ones allowed) and disputes.

What can still go back is ``captured - refunded - lost disputes``; a refund or dispute for
more is ``AmountExceeded``. The check runs under the payment's lock, in the unit of work
that writes the refund, so concurrent partial refunds can never over-refund (and the
database's CHECK constraint is a second line behind it).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from mockpay_core.domain import validation as v
from mockpay_core.domain.model import (
    Dispute,
    DisputeReceipt,
    DisputeStatus,
    Outcome,
    Payment,
    Refund,
    RefundReceipt,
)
from mockpay_core.domain.money import format_major, positive, to_minor
from mockpay_core.domain.states import Action, Status, check_allowed, settled_status
from mockpay_core.domain.validation import collect
from mockpay_core.errors import AmountExceeded
from mockpay_core.service import idempotency, ledger, transitions
from mockpay_core.service.context import Context
from mockpay_core.service.payments import locked_payment
from mockpay_core.storage.protocol import UnitOfWork

_PLACES = transitions.PAYLOAD_AMOUNT_PLACES


def _remaining(p: Payment) -> int:
    return p.captured_minor - p.returned_minor


def _check_amount(amount_minor: int, p: Payment, what: str) -> None:
    if amount_minor > _remaining(p):
        raise AmountExceeded(
            f"{what} amount {format_major(amount_minor, p.currency, _PLACES)} exceeds the"
            f" refundable amount {format_major(_remaining(p), p.currency, _PLACES)}",
            details={"refundable_minor": _remaining(p)},
        )


def refund(
    ctx: Context,
    tenant_id: str,
    payment_id: str,
    amount: object,
    *,
    reason: object = None,
    idempotency_key: object = None,
    triggered_by: str = "refund_api",
) -> Outcome[RefundReceipt]:
    shape, why, key = collect(
        lambda: positive(amount, "refund_amount"),
        lambda: v.optional_text(reason, "reason", v.REASON_LEN_MAX),
        lambda: v.idempotency_key(idempotency_key, required=False),
    )

    def execute(uow: UnitOfWork, now: datetime) -> RefundReceipt:
        p = locked_payment(uow, tenant_id, payment_id)
        check_allowed(
            p.status,
            Action.REFUND,
            f"Cannot refund a payment with status {p.status}. Only captured payments"
            " (success, partially_refunded) can be refunded.",
        )
        amount_minor = to_minor(amount, p.currency, "refund_amount")
        _check_amount(amount_minor, p, "Refund")
        r = Refund(ctx.ids.uuid(), p.id, tenant_id, amount_minor, p.currency, why, now)
        refunded = p.refunded_minor + amount_minor
        after = dataclasses.replace(
            p,
            status=settled_status(p.captured_minor, refunded + p.disputed_minor),
            refunded_minor=refunded,
            refunded_at=now,
            refund_reason=why,
            updated_at=now,
        )
        uow.insert_refund(r)
        transitions.apply(
            uow, ctx, now, p, after, Action.REFUND, triggered_by,
            {"refund_id": r.id, "amount_minor": amount_minor},
            {
                "refund_id": r.id,
                "original_amount": format_major(p.amount_minor, p.currency, _PLACES),
                "refund_amount": format_major(amount_minor, p.currency, _PLACES),
                "refunded_total": format_major(refunded, p.currency, _PLACES),
                "refund_reason": why,
            },
            ledger.Moved(r.id, amount_minor),
        )  # fmt: skip
        return RefundReceipt(after, r)

    params = {"amount": str(shape), "reason": why}
    fp = idempotency.fingerprint("refund", payment_id, params)
    return idempotency.run(ctx, tenant_id, key, "refund", fp, execute, RefundReceipt.from_data)


def open_dispute(
    ctx: Context,
    tenant_id: str,
    payment_id: str,
    *,
    amount: object = None,
    reason: object = None,
    idempotency_key: object = None,
    triggered_by: str = "dispute_api",
) -> Outcome[DisputeReceipt]:
    """The cardholder disputes a captured payment, for at most what was not returned."""
    shape, why, key = collect(
        lambda: None if amount is None else positive(amount, "amount"),
        lambda: v.optional_text(reason, "reason", v.REASON_LEN_MAX),
        lambda: v.idempotency_key(idempotency_key, required=False),
    )

    def execute(uow: UnitOfWork, now: datetime) -> DisputeReceipt:
        p = locked_payment(uow, tenant_id, payment_id)
        check_allowed(p.status, Action.OPEN_DISPUTE)
        amount_minor = _remaining(p) if amount is None else to_minor(amount, p.currency)
        _check_amount(amount_minor, p, "Dispute")
        d = Dispute(
            ctx.ids.uuid(), p.id, tenant_id, amount_minor, p.currency, why, DisputeStatus.OPEN, now
        )
        after = dataclasses.replace(p, status=Status.DISPUTED, updated_at=now)
        uow.insert_dispute(d)
        transitions.apply(
            uow, ctx, now, p, after, Action.OPEN_DISPUTE, triggered_by,
            {"dispute_id": d.id, "amount_minor": amount_minor}, _dispute_payload(d),
            ledger.Moved(d.id, amount_minor),
        )  # fmt: skip
        return DisputeReceipt(after, d)

    params = {"amount": None if shape is None else str(shape), "reason": why}
    fp = idempotency.fingerprint("open_dispute", payment_id, params)
    return idempotency.run(
        ctx, tenant_id, key, "open_dispute", fp, execute, DisputeReceipt.from_data
    )


def resolve_dispute(
    ctx: Context,
    tenant_id: str,
    payment_id: str,
    outcome: object,
    *,
    idempotency_key: object = None,
    triggered_by: str = "dispute_api",
) -> Outcome[DisputeReceipt]:
    """The network's verdict on the open dispute: ``won`` (money stays) or ``lost``."""
    verdict, key = collect(
        lambda: v.choice(outcome, "outcome", (DisputeStatus.WON.value, DisputeStatus.LOST.value)),
        lambda: v.idempotency_key(idempotency_key, required=False),
    )

    def execute(uow: UnitOfWork, now: datetime) -> DisputeReceipt:
        p = locked_payment(uow, tenant_id, payment_id)
        lost = verdict == DisputeStatus.LOST.value
        action = Action.LOSE_DISPUTE if lost else Action.WIN_DISPUTE
        check_allowed(p.status, action)
        d = next(d for d in uow.disputes(tenant_id, p.id) if d.status is DisputeStatus.OPEN)
        d = dataclasses.replace(d, status=DisputeStatus(verdict), resolved_at=now)
        disputed = p.disputed_minor + (d.amount_minor if lost else 0)
        after = dataclasses.replace(
            p,
            status=settled_status(p.captured_minor, p.refunded_minor + disputed),
            disputed_minor=disputed,
            updated_at=now,
        )
        uow.update_dispute(d)
        transitions.apply(
            uow, ctx, now, p, after, action, triggered_by,
            {"dispute_id": d.id, "amount_minor": d.amount_minor}, _dispute_payload(d),
            ledger.Moved(d.id, d.amount_minor),
        )  # fmt: skip
        return DisputeReceipt(after, d)

    fp = idempotency.fingerprint("resolve_dispute", payment_id, {"outcome": verdict})
    return idempotency.run(
        ctx, tenant_id, key, "resolve_dispute", fp, execute, DisputeReceipt.from_data
    )


def _dispute_payload(d: Dispute) -> dict[str, Any]:
    return {
        "dispute_id": d.id,
        "dispute_status": d.status.value,
        "dispute_amount": format_major(d.amount_minor, d.currency, _PLACES),
        "dispute_reason": d.reason,
    }
