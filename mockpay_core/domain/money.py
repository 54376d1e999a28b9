"""Money: decimal major units in, integer minor units stored, never a float in arithmetic.

An amount arrives as a JSON number (``5000``, ``49.99``). Floats are read through their
shortest repr (``str(49.99) == "49.99"``), so no binary-float error reaches the stored
value; everything after that is ``Decimal`` or ``int``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final

from mockpay_core.errors import ValidationError

# ISO 4217 minor-unit exponents of the original's ten currencies.
CURRENCY_EXPONENTS: Final[dict[str, int]] = {
    "INR": 2, "USD": 2, "EUR": 2, "GBP": 2, "AED": 2,
    "SGD": 2, "AUD": 2, "CAD": 2, "JPY": 0, "MYR": 2,
}  # fmt: skip
AMOUNT_MAX_MAJOR: Final = Decimal(10_000_000)


def parse_currency(value: object, field: str = "currency") -> str:
    if not isinstance(value, str):
        raise ValidationError("must be a string", field)
    code = value.strip().upper()
    if code not in CURRENCY_EXPONENTS:
        raise ValidationError(f"must be one of {', '.join(CURRENCY_EXPONENTS)}", field)
    return code


def to_decimal(value: object, field: str) -> Decimal:
    """A finite Decimal from a JSON number; strings, booleans, NaN and infinities are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValidationError("must be a number", field)
    try:
        amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise ValidationError("must be a number", field) from None
    if not amount.is_finite():
        raise ValidationError("must be a finite number", field)
    return amount


def positive(value: object, field: str) -> Decimal:
    """A positive amount before its currency is known, normalised (``10`` == ``10.0``)."""
    amount = to_decimal(value, field)
    if amount <= 0:
        raise ValidationError("must be greater than 0", field)
    return amount.normalize()


def to_minor(value: object, currency: str, field: str = "amount") -> int:
    """Validate an amount in major units and return it in the currency's minor units."""
    amount = to_decimal(value, field)
    if amount <= 0:
        raise ValidationError("must be greater than 0", field)
    if amount > AMOUNT_MAX_MAJOR:
        raise ValidationError(f"must be at most {AMOUNT_MAX_MAJOR}", field)
    exponent = CURRENCY_EXPONENTS[currency]
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ValidationError(f"{currency} allows at most {exponent} decimal places", field)
    return int(minor)


def format_major(amount_minor: int, currency: str, places: int | None = None) -> str:
    """``500000, "INR"`` -> ``"5000.00"``; ``places`` pads (the original always shows 2)."""
    exponent = CURRENCY_EXPONENTS[currency]
    value = Decimal(amount_minor).scaleb(-exponent)
    shown = exponent if places is None else max(places, exponent)
    return f"{value:.{shown}f}"


def threshold_minor(threshold: Decimal, currency: str) -> Decimal:
    """A rule threshold in major units expressed in ``currency``'s minor units."""
    return threshold.scaleb(CURRENCY_EXPONENTS[currency])
