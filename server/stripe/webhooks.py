"""Stripe-signed webhooks: the engine's fan-out for WebhookEndpoints.

``fanout`` runs inside the unit of work that writes an engine event (``Engine.set_fanout``):
for each Stripe type the event stands for (``webhook_types``) and each of the tenant's
enabled endpoints that wants it, one copy of the event whose payload is the Stripe Event
object as it is at that moment (a snapshot). The dispatcher sends each copy to its
endpoint's URL with ``Stripe-Signature``, with its own retries and dead letter.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from mockpay_core import Payment, Refund
from mockpay_core.domain.model import Dispute, Event, Payout
from mockpay_core.ids import IdSource
from mockpay_core.storage.protocol import UnitOfWork
from server.stripe import balance_views, views

# Engine events that Stripe announces with a second type too.
EXTRA_TYPES: Final = {
    "payment.success": ("charge.succeeded",),
    "payment.captured": ("charge.succeeded",),
    "payment.failed": ("charge.failed",),
    "payment.refunded": ("refund.created",),
}


def webhook_types(ours: str) -> tuple[str, ...]:
    """The Stripe types an engine event is sent as, its own (``views.EVENT_TYPES``) first."""
    return (views.stripe_type(ours), *EXTRA_TYPES.get(ours, ()))


class Records(Protocol):
    """A payment's refunds and disputes: a Reader's, or the Engine's."""

    def refunds(self, tenant_id: str, payment_id: str) -> list[Refund]: ...
    def disputes(self, tenant_id: str, payment_id: str) -> list[Dispute]: ...


def data_object(r: Records, kind: str, event: Event, p: Payment | Payout) -> dict[str, Any]:
    """The object a Stripe event of ``kind`` carries (a webhook's: read in the event's own
    transaction; ``/v1/events``': as it is now); a payout's event carries the Payout."""
    if isinstance(p, Payout):
        return balance_views.payout(p)
    if kind.startswith("charge.dispute."):
        disputes = r.disputes(event.tenant_id, p.id)
        if disputes:
            return views.dispute(disputes[-1], p)
    if kind.startswith("refund."):
        refunds = r.refunds(event.tenant_id, p.id)
        if refunds:
            return views.refund(refunds[-1], p)
    if kind.startswith("charge."):
        return views.charge_view(p)
    return views.payment_intent(p)


def fanout(uow: UnitOfWork, ids: IdSource, event: Event, payment: Payment | Payout) -> list[Event]:
    """One copy of ``event`` per (Stripe type, endpoint that wants it). Each type's body
    has the id ``/v1/events`` shows for it (``ids.encode_event``); every endpoint gets the
    same body for one type, as Stripe sends one event to each."""
    copies: list[Event] = []
    for n, kind in enumerate(webhook_types(event.type)):
        endpoints = uow.endpoints_for(event.tenant_id, kind)
        if not endpoints:
            continue
        body = views.event(event, data_object(uow, kind, event, payment), kind, n)
        copies += [
            Event(ids.uuid(), event.tenant_id, event.payment_id, kind, body, event.created_at,
                  endpoint_id=w.id)
            for w in endpoints
        ]  # fmt: skip
    return copies
