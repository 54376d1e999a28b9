"""The payment page's buttons, drawn from the state table: a button shows only where
``allowed_actions`` has one of its actions for the payment's status, and runs the engine
call the REST route for it runs, with the idempotency key generated for the form."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mockpay_core import Engine, Payment
from mockpay_core.domain.states import Action, allowed_actions

A = Action


@dataclass(frozen=True, slots=True)
class Button:
    name: str  # the form's path: /dashboard/payments/{id}/{name}
    label: str
    actions: frozenset[Action]  # shown when the state allows any of them
    fields: tuple[str, ...] = ()  # amount, reason
    admin_only: bool = False
    danger: bool = False


BUTTONS: tuple[Button, ...] = (
    Button("simulate-success", "Simulate success", frozenset({A.SUCCEED, A.AUTHORIZE})),
    Button("simulate-failed", "Simulate failure", frozenset({A.FAIL}), danger=True),
    Button("capture", "Capture", frozenset({A.CAPTURE}), ("amount",)),
    Button("cancel", "Cancel", frozenset({A.CANCEL}), ("reason",), danger=True),
    Button("refund", "Refund", frozenset({A.REFUND}), ("amount", "reason")),
    Button("dispute", "Open a dispute", frozenset({A.OPEN_DISPUTE}), ("amount", "reason")),
    Button("dispute-won", "Dispute won", frozenset({A.WIN_DISPUTE})),
    Button("dispute-lost", "Dispute lost", frozenset({A.LOSE_DISPUTE}), danger=True),
    Button("approve", "Approve (review)", frozenset({A.APPROVE}), admin_only=True),
    Button("reject", "Reject (review)", frozenset({A.REJECT}), admin_only=True, danger=True),
)
BY_NAME = {b.name: b for b in BUTTONS}


@dataclass(frozen=True, slots=True)
class Offer:
    """A button on one page: its form's fresh idempotency key."""

    button: Button
    idempotency_key: str


def offers(payment: Payment, admin: bool) -> list[Offer]:
    allowed = allowed_actions(payment.status)
    return [
        Offer(b, "dash_" + secrets.token_urlsafe(12))
        for b in BUTTONS
        if b.actions & allowed and (admin or not b.admin_only)
    ]


def command(
    button: Button, tenant_id: str, payment_id: str, fields: dict[str, Any], key: str
) -> Callable[[Engine], Any]:
    """The engine call behind ``button``, with the form's ``amount`` (a Decimal or None)
    and ``reason``."""
    amount: Decimal | None = fields.get("amount")
    reason: str | None = fields.get("reason") or None
    t, p = tenant_id, payment_id
    calls: dict[str, Callable[[Engine], Any]] = {
        "simulate-success": lambda e: e.simulate(t, p, "success", idempotency_key=key),
        "simulate-failed": lambda e: e.simulate(t, p, "failed", idempotency_key=key),
        "capture": lambda e: e.capture(t, p, amount=amount, idempotency_key=key),
        "cancel": lambda e: e.cancel(t, p, reason=reason, idempotency_key=key),
        "refund": lambda e: e.refund(t, p, amount, reason=reason, idempotency_key=key),
        "dispute": lambda e: e.open_dispute(
            t, p, amount=amount, reason=reason, idempotency_key=key
        ),
        "dispute-won": lambda e: e.resolve_dispute(t, p, "won", idempotency_key=key),
        "dispute-lost": lambda e: e.resolve_dispute(t, p, "lost", idempotency_key=key),
        "approve": lambda e: e.review(t, p, "approve", idempotency_key=key),
        "reject": lambda e: e.review(t, p, "reject", idempotency_key=key),
    }
    return calls[button.name]
