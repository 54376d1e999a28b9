"""Applying one transition: the payment row, its audit row and its outbox event, together.

Every state change of every command goes through ``apply``, inside the command's unit of
work, so there is exactly one audit row per transition and one event per notified change
(the table's ``event`` column), and neither exists without the change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mockpay_core.domain.audit import GENESIS, chain_hash
from mockpay_core.domain.model import AuditEntry, Event, Payment
from mockpay_core.domain.money import format_major
from mockpay_core.domain.states import Action, Edge, transition
from mockpay_core.ids import IdSource
from mockpay_core.storage.protocol import UnitOfWork

# The original's payloads show amounts with two decimals ("5000.00").
PAYLOAD_AMOUNT_PLACES = 2


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
    ids: IdSource,
    now: datetime,
    before: Payment | None,
    after: Payment,
    action: Action,
    triggered_by: str,
    metadata: dict[str, Any] | None = None,
    payload_extra: dict[str, Any] | None = None,
) -> Edge:
    """Write ``after`` (insert when ``before`` is None), its audit row and its event."""
    edge = transition(before.status if before else None, action, after.status)
    if before is None:
        uow.insert_payment(after)
    else:
        uow.update_payment(after)

    head = uow.audit_head(after.tenant_id)
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
    fields: dict[str, Any] = {
        "id": ids.uuid(),
        "tenant_id": after.tenant_id,
        "payment_id": after.id,
        "seq": seq,
        "old_status": before.status.value if before else None,
        "new_status": after.status.value,
        "action": action.value,
        "triggered_by": triggered_by,
        "metadata": metadata or {},
        "created_at": now.isoformat(timespec="microseconds"),
    }
    entry_hash = chain_hash(prev_hash, fields)
    uow.insert_audit(
        AuditEntry(**{**fields, "created_at": now}, prev_hash=prev_hash, hash=entry_hash)
    )

    if edge.event is not None:
        payload = event_payload(edge.event, after, now, payload_extra or {})
        uow.insert_event(Event(ids.uuid(), after.tenant_id, after.id, edge.event, payload, now))
    return edge
