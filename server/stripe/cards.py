"""Stripe's test payment methods and the outcome each one has.

Every ``pm_card_*`` name also works as ``tok_*`` (Stripe's tokens) and by card number
through ``payment_method_data[card][number]``. A decline names Stripe's ``code`` and
``decline_code``, and the nearest of the engine's failure codes that it is stored as.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from mockpay_core.errors import NotFound


class Kind(StrEnum):
    SUCCEED = "succeed"
    DECLINE = "decline"
    BLOCK = "block"  # refused by fraud rules (Stripe's Radar)
    DISPUTE = "dispute"  # succeeds, then the cardholder disputes it


@dataclass(frozen=True, slots=True)
class Card:
    name: str
    number: str | None
    kind: Kind
    code: str | None = None
    decline_code: str | None = None
    engine_failure_code: str | None = None
    message: str | None = None

    @property
    def brand(self) -> str:
        return "amex" if "amex" in self.name else "mastercard" if "master" in self.name else "visa"

    @property
    def last4(self) -> str:
        return (self.number or "4242")[-4:]


_DECLINED = "Your card was declined."
CARDS: Final = (
    Card("pm_card_visa", "4242424242424242", Kind.SUCCEED),
    Card("pm_card_visa_debit", "4000056655665556", Kind.SUCCEED),
    Card("pm_card_mastercard", "5555555555554444", Kind.SUCCEED),
    Card("pm_card_amex", "378282246310005", Kind.SUCCEED),
    Card("pm_card_chargeDeclined", "4000000000000002", Kind.DECLINE,
         "card_declined", "generic_decline", "card_declined", _DECLINED),
    Card("pm_card_chargeDeclinedInsufficientFunds", "4000000000009995", Kind.DECLINE,
         "card_declined", "insufficient_funds", "insufficient_funds",
         "Your card has insufficient funds."),
    Card("pm_card_chargeDeclinedExpiredCard", "4000000000000069", Kind.DECLINE,
         "expired_card", "expired_card", "expired_card", "Your card has expired."),
    Card("pm_card_chargeDeclinedIncorrectCvc", "4000000000000127", Kind.DECLINE,
         "incorrect_cvc", "incorrect_cvc", "card_declined",
         "Your card's security code is incorrect."),
    Card("pm_card_chargeDeclinedProcessingError", "4000000000000119", Kind.DECLINE,
         "processing_error", "processing_error", "processing_error",
         "An error occurred while processing your card. Try again in a little bit."),
    Card("pm_card_chargeDeclinedFraudulent", None, Kind.DECLINE,
         "card_declined", "fraudulent", "card_declined", _DECLINED),
    Card("pm_card_radarBlock", "4100000000000019", Kind.BLOCK,
         "card_declined", "fraudulent", "fraud_blocked", _DECLINED),
    Card("pm_card_createDispute", "4000000000000259", Kind.DISPUTE),
)  # fmt: skip
_BY_NAME: Final = {c.name: c for c in CARDS} | {"tok_" + c.name[8:]: c for c in CARDS}
_BY_NUMBER: Final = {c.number: c for c in CARDS if c.number}
# How a payment that the engine failed reads when the card is not known (see views).
BY_ENGINE_FAILURE: Final = {
    "card_declined": _BY_NAME["pm_card_chargeDeclined"],
    "insufficient_funds": _BY_NAME["pm_card_chargeDeclinedInsufficientFunds"],
    "expired_card": _BY_NAME["pm_card_chargeDeclinedExpiredCard"],
    "processing_error": _BY_NAME["pm_card_chargeDeclinedProcessingError"],
    "fraud_blocked": _BY_NAME["pm_card_radarBlock"],
    "fraud_rejected": _BY_NAME["pm_card_radarBlock"],
}


def find(name: str) -> Card:
    """The card behind a test payment method or token; ``NotFound`` for another name."""
    card = _BY_NAME.get(name)
    if card is None:
        raise NotFound("payment_method", name)
    return card


def from_params(params: dict[str, Any]) -> Card | None:
    """The card a request names: ``payment_method``, or ``payment_method_data`` with a
    card number; None when it names none."""
    name = params.get("payment_method")
    if isinstance(name, str) and name:
        return find(name)
    data = params.get("payment_method_data")
    if isinstance(data, dict) and isinstance(data.get("card"), dict):
        number = str(data["card"].get("number", "")).replace(" ", "")
        card = _BY_NUMBER.get(number)
        if card is None:
            raise NotFound("payment_method", "card " + number[-4:])
        return card
    return None
