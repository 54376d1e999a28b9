"""Applying one transition: the payment row, its audit row and its outbox event, together.
(``record_change`` writes a change of a payment's own fields: row and audit row, no event.)

Every state change of every command goes through ``apply``, inside the command's unit of
work, so there is exactly one audit row per transition, one event per notified change
(the table's ``event`` column) and the ledger entries of the money it moved, and none of
them exists without the change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mockpay_core.domain.audit import GENESIS, chain_hash
from mockpay_core.domain.model import AuditEntry, Event, Payment
from mockpay_core.domain.money import format_major
from mockpay_core.domain.states import Action, Edge, transition
from mockpay_core.ids import IdSource
from mockpay_core.service import ledger
from mockpay_core.service.context import Context
from mockpay_core.storage.protocol import UnitOfWork

# The original's payloads show amounts with two decimals ("5000.00").
PAYLOAD_AMOUNT_PLACES = 2
# The audit action of a change that is not a transition (metadata, description, ...).
UPDATE_ACTION = "update"


def event_payload(
    event_type: str, payment: Payment, now: datetime, extra: dict[str, Any]
) -> dict[str, Any]:
    """The original's fields (payment_id, status, amount, currency, timestamp) + ``event``."""
    return {
        "event": event_type,
        "payment_id": payment.id,
        "status": payment.status.value,
        "amount": format_major(payment.amount_minor, payment.currency, PAYLOAD_AMOUNT_PLACES),
        "currency": payment.currency,
        "timestamp": now.isoformat(),
        **extra,
    }


def apply(
    uow: UnitOfWork,
    ctx: Context,
    now: datetime,
    before: Payment | None,
    after: Payment,
    action: Action,
    triggered_by: str,
    metadata: dict[str, Any] | None = None,
    payload_extra: dict[str, Any] | None = None,
    moved: ledger.Moved | None = None,
) -> Edge:
    """Write ``after`` (insert when ``before`` is None), its audit row, the money it moved
    (its ledger entries; ``moved``: a refund's or dispute's id and amount) and its event,
    and the copies of the event the context's ``fanout`` asks for (each its own delivery)."""
    edge = transition(before.status if before else None, action, after.status)
    if before is None:
        uow.insert_payment(after)
    else:
        uow.update_payment(after)
    _audit(uow, ctx.ids, now, before, after, action.value, triggered_by, metadata)
    ledger.on_transition(uow, ctx, now, before, after, action, moved)
    if edge.event is not None:
        payload = event_payload(edge.event, after, now, payload_extra or {})
        event = Event(ctx.ids.uuid(), after.tenant_id, after.id, edge.event, payload, now)
        uow.insert_event(event)
        if ctx.fanout is not None:
            for copy in ctx.fanout(uow, ctx.ids, event, after):
                uow.insert_event(copy)
    return edge


def record_change(
    uow: UnitOfWork,
    ids: IdSource,
    now: datetime,
    before: Payment,
    after: Payment,
    triggered_by: str,
    metadata: dict[str, Any],
) -> None:
    """Write a change of a payment's own fields that is no transition (its status stays):
    the row and an audit row with action ``update``, no event (Stripe sends none either)."""
    if after.status is not before.status:
        raise ValueError("a status change goes through apply(), the state table's gate")
    uow.update_payment(after)
    _audit(uow, ids, now, before, after, UPDATE_ACTION, triggered_by, metadata)


def _audit(
    uow: UnitOfWork,
    ids: IdSource,
    now: datetime,
    before: Payment | None,
    after: Payment,
    action: str,
    triggered_by: str,
    metadata: dict[str, Any] | None,
) -> None:
    head = uow.audit_head(after.tenant_id)
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
    fields: dict[str, Any] = {
        "id": ids.uuid(),
        "tenant_id": after.tenant_id,
        "payment_id": after.id,
        "seq": seq,
        "old_status": before.status.value if before else None,
        "new_status": after.status.value,
        "action": action,
        "triggered_by": triggered_by,
        "metadata": metadata or {},
        "created_at": now.isoformat(timespec="microseconds"),
    }
    entry_hash = chain_hash(prev_hash, fields)
    uow.insert_audit(
        AuditEntry(**{**fields, "created_at": now}, prev_hash=prev_hash, hash=entry_hash)
    )
