"""Our payment states as Stripe's PaymentIntent statuses: one table, read by the views and
rendered into docs/stripe.md (``markdown_table``).

Stripe keeps a declined intent in ``requires_payment_method`` with ``last_payment_error``;
our payment is then ``failed``. A pending payment is ``requires_payment_method`` until a
payment method is attached, then ``requires_confirmation``.
"""

from __future__ import annotations

from typing import Final

from mockpay_core.domain.states import Status

S = Status
# (our status, Stripe's status with a payment method, without one, what it means)
TABLE: Final[tuple[tuple[Status, str, str, str], ...]] = (
    (S.PENDING, "requires_confirmation", "requires_payment_method", "created, not confirmed"),
    (S.FLAGGED, "processing", "processing", "held for review by a fraud rule"),
    (S.AUTHORIZED, "requires_capture", "requires_capture", "authorized (manual capture)"),
    (S.SUCCESS, "succeeded", "succeeded", "captured"),
    (S.PARTIALLY_REFUNDED, "succeeded", "succeeded", "captured, partly refunded"),
    (S.REFUNDED, "succeeded", "succeeded", "captured, fully refunded"),
    (S.DISPUTED, "succeeded", "succeeded", "captured, dispute open"),
    (S.FAILED, "requires_payment_method", "requires_payment_method",
     "declined, or blocked by fraud: last_payment_error says why"),
    (S.CANCELED, "canceled", "canceled", "canceled, or the authorization expired"),
)  # fmt: skip
_WITH: Final = {row[0]: row[1] for row in TABLE}
_WITHOUT: Final = {row[0]: row[2] for row in TABLE}
# States in which the payment went to the card network: it has a charge.
CHARGED: Final = frozenset(
    {S.AUTHORIZED, S.SUCCESS, S.PARTIALLY_REFUNDED, S.REFUNDED, S.DISPUTED, S.FAILED}
)


def intent_status(status: Status, has_payment_method: bool) -> str:
    return (_WITH if has_payment_method else _WITHOUT)[status]


def markdown_table() -> str:
    lines = [
        "| MockPay status | PaymentIntent status | without a payment method | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{s}` | `{w}` | `{wo}` | {why} |" for s, w, wo, why in TABLE]
    return "\n".join(lines)
