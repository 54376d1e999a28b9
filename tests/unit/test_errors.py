"""One exception tree, stable codes, replayable records."""

from __future__ import annotations

import re

import pytest

from mockpay_core import errors
from mockpay_core.errors import ERROR_CODES, MockPayError, error_from_record


def test_codes_are_unique_snake_case_and_stable() -> None:
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", code) for code in ERROR_CODES)
    assert len(ERROR_CODES) == len(set(ERROR_CODES.values()))
    assert set(ERROR_CODES) == {
        "mockpay_error", "validation_error", "authentication_failed", "not_found", "conflict",
        "email_taken", "invalid_transition", "amount_exceeded", "balance_insufficient",
        "authorization_expired",
        "idempotency_key_reused", "idempotency_key_in_use", "audit_immutable", "delivery_not_dead",
        "storage_error", "database_busy", "database_unavailable", "batch_lost",
    }  # fmt: skip


@pytest.mark.parametrize(
    "error",
    [
        errors.ValidationError([("amount", "must be a number"), ("currency", "bad")]),
        errors.NotFound("payment", "p1"),
        errors.InvalidTransition("failed", "refund"),
        errors.AmountExceeded("too much", details={"refundable_minor": 5}),
        errors.EmailTaken("Email already registered"),
    ],
)
def test_errors_round_trip_through_records(error: MockPayError) -> None:
    again = error_from_record(error.to_record())
    assert type(again) is type(error)
    assert again == error and again.message == error.message and again.details == error.details
    assert again.replayed and not error.replayed


def test_not_found_reads_like_the_original() -> None:
    assert errors.NotFound("payment", "x").message == "Payment not found"
