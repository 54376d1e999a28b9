"""Money: decimal major units in, integer minor units out, every bad form refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mockpay_core.domain.money import (
    CURRENCY_EXPONENTS,
    format_major,
    parse_currency,
    to_minor,
)
from mockpay_core.errors import ValidationError


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        (5000, "INR", 500000),
        (49.99, "USD", 4999),
        (0.01, "EUR", 1),
        (0.1 + 0.2, "USD", None),  # 0.30000000000000004 has too many decimals
        (Decimal("19.90"), "GBP", 1990),
        (3000, "JPY", 3000),
        (3000.0, "JPY", 3000),
        (10_000_000, "USD", 1_000_000_000),
        (1e7, "SGD", 1_000_000_000),
    ],
)
def test_to_minor(value: object, currency: str, minor: int | None) -> None:
    if minor is None:
        with pytest.raises(ValidationError):
            to_minor(value, currency)
    else:
        assert to_minor(value, currency) == minor
        assert type(to_minor(value, currency)) is int


@pytest.mark.parametrize(
    ("value", "currency", "message"),
    [
        (0, "USD", "greater than 0"),
        (-5, "USD", "greater than 0"),
        (10_000_000.01, "USD", "at most 10000000"),
        (0.001, "USD", "at most 2 decimal places"),
        (1.5, "JPY", "at most 0 decimal places"),
        (float("nan"), "USD", "finite"),
        (float("inf"), "USD", "finite"),
        (Decimal("NaN"), "USD", "finite"),
        (Decimal("-Infinity"), "USD", "finite"),
        (True, "USD", "must be a number"),
        ("5000", "USD", "must be a number"),
        (None, "USD", "must be a number"),
        ([5], "USD", "must be a number"),
    ],
)
def test_bad_amounts_are_validation_errors(value: object, currency: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        to_minor(value, currency)
    assert info.value.errors[0][0] == "amount"
    assert message in info.value.errors[0][1]


def test_currencies_are_the_originals_ten_upper_cased() -> None:
    assert set(CURRENCY_EXPONENTS) == {
        "INR", "USD", "EUR", "GBP", "AED", "SGD", "AUD", "CAD", "JPY", "MYR"
    }  # fmt: skip
    assert parse_currency(" usd ") == "USD"
    for bad in ("XYZ", "", 5, None, "US D"):
        with pytest.raises(ValidationError):
            parse_currency(bad)


def test_format_major() -> None:
    assert format_major(500000, "INR") == "5000.00"
    assert format_major(3000, "JPY") == "3000"
    assert format_major(3000, "JPY", places=2) == "3000.00"
    assert format_major(1, "USD") == "0.01"
