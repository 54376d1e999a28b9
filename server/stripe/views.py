"""Our records as Stripe objects: PaymentIntent, Charge, Refund, Dispute, Event.

Amounts are integers in minor units, ``created`` is unix seconds, currencies lower case,
``livemode`` false. ``expand`` names the fields to render as objects instead of ids.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Final

from mockpay_core import Payment, Refund
from mockpay_core.domain.model import Customer, Dispute, DisputeStatus, Event
from mockpay_core.domain.states import Status
from mockpay_core.errors import NotFound
from mockpay_core.service.payments import EXPIRED_REASON, FAILURE_CODES
from server.stripe import cards, ids, radar, statuses
from server.stripe.errors import API_VERSION

# The engine's cancellation reasons that are not the client's own, in Stripe's words.
CANCELLATION_REASONS: Final = {EXPIRED_REASON: "automatic"}
# Our webhook event types as Stripe's (docs/stripe.md renders this table).
EVENT_TYPES: Final = {
    "payment.success": "payment_intent.succeeded",
    "payment.captured": "payment_intent.succeeded",
    "payment.authorized": "payment_intent.amount_capturable_updated",
    "payment.failed": "payment_intent.payment_failed",
    "payment.canceled": "payment_intent.canceled",
    "payment.expired": "payment_intent.canceled",
    "payment.refunded": "charge.refunded",
    "dispute.created": "charge.dispute.created",
    "dispute.won": "charge.dispute.closed",
    "dispute.lost": "charge.dispute.closed",
    "fraud.detected": "review.opened",
    "review.approved": "review.closed",
    "review.rejected": "review.closed",
    "payout.paid": "payout.paid",
    "payout.failed": "payout.failed",
}
DISPUTE_STATUS: Final = {
    DisputeStatus.OPEN: "needs_response",
    DisputeStatus.WON: "won",
    DisputeStatus.LOST: "lost",
}


def unix(when: datetime | None) -> int | None:
    return None if when is None else int(when.timestamp())


def customer_of(p: Payment) -> str | None:
    """The customer as the client gave it (not the value the radarBlock card sets)."""
    return None if p.customer == radar.CUSTOMER else p.customer


def card_of(p: Payment) -> cards.Card | None:
    return cards.find(p.payment_method) if p.payment_method else None


def attached_card(p: Payment) -> cards.Card | None:
    """The card the intent holds: Stripe detaches a declined one (it stays in
    ``last_payment_error.payment_method``), so a failed intent holds none."""
    return None if p.status is Status.FAILED else card_of(p)


def retryable(p: Payment) -> bool:
    """Declined by the card network (not refused by fraud rules): confirming again with a
    payment method takes the state table's ``retry`` edge."""
    return p.status is Status.FAILED and p.failure_code in FAILURE_CODES


def decline_of(p: Payment) -> cards.Card | None:
    """The card whose decline a failed payment reads as: its own, when it is a declining
    one, else the one that stands for the engine's failure code."""
    if p.status is not Status.FAILED:
        return None
    card = card_of(p)
    if card is not None and card.kind in (cards.Kind.DECLINE, cards.Kind.BLOCK):
        return card
    return cards.BY_ENGINE_FAILURE.get(p.failure_code or "", cards.find("pm_card_chargeDeclined"))


def _payment_method(card: cards.Card | None) -> dict[str, Any] | None:
    if card is None:
        return None
    return {
        "id": card.name, "object": "payment_method", "type": "card",
        "card": {"brand": card.brand, "last4": card.last4, "exp_month": 12, "exp_year": 2034},
    }  # fmt: skip


def _error(p: Payment) -> dict[str, Any] | None:
    card = decline_of(p)
    if card is None:
        return None
    return {
        "type": "card_error", "code": card.code, "decline_code": card.decline_code,
        "message": card.message, "charge": ids.encode("charge", p.id),
        "payment_method": _payment_method(card_of(p) or card),
        "doc_url": f"https://docs.stripe.com/error-codes/{card.code}",
    }  # fmt: skip


def cancellation_reason(p: Payment) -> str | None:
    if p.status is not Status.CANCELED or p.cancellation_reason is None:
        return None
    return CANCELLATION_REASONS.get(p.cancellation_reason, p.cancellation_reason)


def payment_intent(p: Payment, expand: Collection[str] = ()) -> dict[str, Any]:
    card = attached_card(p)
    charge: Any = None
    if p.status in statuses.CHARGED:
        charge = charge_view(p) if "latest_charge" in expand else ids.encode("charge", p.id)
    pi_id = ids.encode("payment_intent", p.id)
    return {
        "id": pi_id, "object": "payment_intent",
        "amount": p.amount_minor,
        "amount_capturable": p.amount_minor if p.status is Status.AUTHORIZED else 0,
        "amount_received": p.captured_minor,
        "canceled_at": unix(p.updated_at) if p.status is Status.CANCELED else None,
        "cancellation_reason": cancellation_reason(p),
        "capture_method": p.capture_method.value,
        "client_secret": f"{pi_id}_secret_{p.id[-12:]}",
        "confirmation_method": "automatic",
        "created": unix(p.created_at),
        "currency": p.currency.lower(),
        "customer": customer_of(p),
        "description": p.description,
        "last_payment_error": _error(p),
        "latest_charge": charge,
        "livemode": False,
        "metadata": p.metadata,
        "next_action": None,
        "payment_method": card.name if card else None,
        "payment_method_types": ["card"],
        "processing": None,
        "review": None,
        "status": statuses.intent_status(p.status, card is not None),
    }  # fmt: skip


def _outcome(p: Payment) -> dict[str, Any]:
    card = decline_of(p)
    if card is None:
        kind, network, risk = "authorized", "approved_by_network", "normal"
    elif card.kind is cards.Kind.BLOCK:
        kind, network, risk = "blocked", "not_sent_to_network", "highest"
    else:
        kind, network, risk = "issuer_declined", "declined_by_network", "normal"
    return {
        "type": kind, "network_status": network, "risk_level": risk,
        "reason": card.decline_code if card else None,
        "seller_message": card.message if card else "Payment complete.",
    }  # fmt: skip


def charge_view(p: Payment, expand: Collection[str] = ()) -> dict[str, Any]:
    card = card_of(p) or decline_of(p)
    failed = decline_of(p)
    details = {"type": "card", "card": (_payment_method(card) or {}).get("card")}
    pi: Any = ids.encode("payment_intent", p.id)
    if "payment_intent" in expand:
        pi = payment_intent(p)
    return {
        "id": ids.encode("charge", p.id), "object": "charge",
        "amount": p.amount_minor,
        "amount_captured": p.captured_minor,
        "amount_refunded": p.refunded_minor,
        "balance_transaction": None,
        "captured": p.captured_minor > 0,
        "created": unix(p.created_at),
        "currency": p.currency.lower(),
        "customer": customer_of(p),
        "description": p.description,
        "disputed": p.status is Status.DISPUTED or p.disputed_minor > 0,
        "failure_code": failed.code if failed else None,
        "failure_message": failed.message if failed else None,
        "livemode": False,
        "metadata": p.metadata,
        "outcome": _outcome(p),
        "paid": failed is None,
        "payment_intent": pi,
        "payment_method": card.name if card else None,
        "payment_method_details": details,
        "refunded": p.captured_minor > 0 and p.refunded_minor >= p.captured_minor,
        "status": "failed" if failed else "succeeded",
    }  # fmt: skip


def _linked(p: Payment, expand: Collection[str]) -> dict[str, Any]:
    return {
        "charge": charge_view(p) if "charge" in expand else ids.encode("charge", p.id),
        "payment_intent": payment_intent(p) if "payment_intent" in expand
        else ids.encode("payment_intent", p.id),
    }  # fmt: skip


def refund(r: Refund, p: Payment, expand: Collection[str] = ()) -> dict[str, Any]:
    return {
        "id": ids.encode("refund", p.id, r.id), "object": "refund",
        "amount": r.amount_minor, "balance_transaction": None, "created": unix(r.created_at),
        "currency": r.currency.lower(), "metadata": {}, "reason": r.reason,
        "status": "succeeded", **_linked(p, expand),
    }  # fmt: skip


def dispute(d: Dispute, p: Payment, expand: Collection[str] = ()) -> dict[str, Any]:
    return {
        "id": ids.encode("dispute", p.id, d.id), "object": "dispute",
        "amount": d.amount_minor, "balance_transactions": [], "created": unix(d.created_at),
        "currency": d.currency.lower(), "evidence": {}, "is_charge_refundable": False,
        "livemode": False, "metadata": {}, "reason": d.reason or "general",
        "status": DISPUTE_STATUS[d.status], **_linked(p, expand),
    }  # fmt: skip


def event(
    e: Event, data_object: dict[str, Any], kind: str | None = None, n: int = 0
) -> dict[str, Any]:
    """Our event as Stripe's event of ``kind``, the ``n``-th Stripe type it stands for
    (``webhooks.webhook_types``; the first, its own type, by default)."""
    return {
        "id": ids.encode_event(e.payment_id, e.id, n), "object": "event",
        "api_version": API_VERSION, "created": unix(e.created_at),
        "data": {"object": data_object}, "livemode": False, "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None}, "type": kind or stripe_type(e.type),
    }  # fmt: skip


def stripe_type(ours: str) -> str:
    return EVENT_TYPES.get(ours, "mockpay." + ours)


def customer(c: Customer) -> dict[str, Any]:
    return {
        "id": ids.encode("customer", c.id), "object": "customer", "created": unix(c.created_at),
        "description": c.description, "email": c.email, "livemode": False,
        "metadata": c.metadata, "name": c.name,
    }  # fmt: skip


def customer_of_id(stripe_id: object) -> str | None:
    """Our id of a ``cus_`` id of ours; None for any other value (a free-text customer, as
    phase 1 kept them)."""
    if not isinstance(stripe_id, str) or not stripe_id.startswith("cus_"):
        return None
    try:
        return ids.decode("customer", stripe_id)[0]
    except NotFound:
        return None


def page(data: list[dict[str, Any]], has_more: bool, url: str) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}
