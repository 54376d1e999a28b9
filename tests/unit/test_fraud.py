"""Fraud rules: specs validate, and the pure decision fires as documented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mockpay_core.domain.fraud import (
    FraudRule,
    Outcome,
    PaymentFacts,
    RuleSpec,
    decide,
    window_queries,
)
from mockpay_core.domain.states import Status
from mockpay_core.errors import ValidationError
from mockpay_core.service.fraud_rules import parse_spec

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def rule(**spec: object) -> FraudRule:
    return FraudRule(str(spec["name"]), parse_spec(spec), NOW, NOW)


def facts(
    amount_minor: int = 1000, customer: str | None = "cus_1", currency: str = "USD"
) -> PaymentFacts:
    return PaymentFacts("t1", amount_minor, currency, customer, NOW)


VELOCITY = rule(name="v", rule_type="velocity", threshold=5, window_secs=60)
VOLUME = rule(name="vol", rule_type="volume", threshold=100, window_secs=3600, scope="customer")
LIMIT = rule(name="lim", rule_type="amount_limit", threshold=100000)
BLOCK = rule(name="bl", rule_type="blocklist", values=["cus_bad"], action="block")


def test_velocity_admits_exactly_the_threshold() -> None:
    assert decide([VELOCITY], facts(), {"v": 4}).outcome is Outcome.ALLOW  # 5th payment
    assert decide([VELOCITY], facts(), {"v": 5}).outcome is Outcome.FLAG  # 6th payment


@pytest.mark.parametrize("threshold", [1, 2, 5, 100])
def test_a_capped_count_decides_as_the_full_count_would(threshold: object) -> None:
    """Velocity counts stop at ``count_max``: every count past it decides the same."""
    spec = rule(name="v", rule_type="velocity", threshold=threshold, window_secs=60)
    (q,) = window_queries([spec], facts())
    assert q.kind == "count" and q.count_max is not None
    for count in range(0, 120):
        full = decide([spec], facts(), {"v": count}).outcome
        capped = decide([spec], facts(), {"v": min(count, q.count_max)}).outcome
        assert capped is full, (threshold, count)


def test_volume_sums_this_payment_in_its_currency() -> None:
    assert decide([VOLUME], facts(amount_minor=5000), {"vol": 5000}).outcome is Outcome.ALLOW
    assert decide([VOLUME], facts(amount_minor=5001), {"vol": 5000}).outcome is Outcome.FLAG
    (q,) = window_queries([VOLUME], facts())
    assert (q.kind, q.customer, q.currency, q.since) == (
        "sum",
        "cus_1",
        "USD",
        NOW - timedelta(hours=1),
    )


def test_amount_limit_is_in_major_units_of_the_payments_currency() -> None:
    assert decide([LIMIT], facts(amount_minor=10_000_000), {}).outcome is Outcome.ALLOW
    assert decide([LIMIT], facts(amount_minor=10_000_001), {}).outcome is Outcome.FLAG
    assert decide([LIMIT], facts(amount_minor=100_001, currency="JPY"), {}).outcome is Outcome.FLAG


def test_block_wins_over_flag_and_every_rule_is_recorded() -> None:
    d = decide([LIMIT, BLOCK], facts(amount_minor=10**9, customer="cus_bad"), {})
    assert d.outcome is Outcome.BLOCK and d.status is Status.FAILED
    assert [e["name"] for e in d.fired] == ["lim", "bl"]
    assert {e["rule_id"] for e in d.evaluated} == {"lim", "bl"}


def test_customer_rules_skip_payments_without_a_customer() -> None:
    assert window_queries([VOLUME], facts(customer=None)) == []
    d = decide([VOLUME, BLOCK], facts(customer=None), {})
    assert d.outcome is Outcome.ALLOW and d.evaluated == ()


def test_inactive_rules_are_not_evaluated() -> None:
    off = FraudRule("off", VELOCITY.spec.model_copy(update={"is_active": False}), NOW, NOW)
    assert window_queries([off], facts()) == []
    assert decide([off], facts(), {}).evaluated == ()


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"name": "v", "rule_type": "velocity", "threshold": 5}, "rule"),
        ({"name": "v", "rule_type": "velocity", "window_secs": 60}, "rule"),
        ({"name": "v", "rule_type": "velocity", "threshold": 2.5, "window_secs": 60}, "rule"),
        ({"name": "b", "rule_type": "blocklist"}, "rule"),
        ({"name": "x", "rule_type": "nope", "threshold": 1}, "rule_type"),
        ({"name": "x", "rule_type": "amount_limit", "threshold": -1}, "threshold"),
        ({"name": "x", "rule_type": "amount_limit", "threshold": "5"}, "threshold"),
        ({"name": "x", "rule_type": "amount_limit", "threshold": True}, "threshold"),
        ({"name": "x", "rule_type": "amount_limit", "threshold": 1, "actoin": "flag"}, "actoin"),
        ({"name": "", "rule_type": "amount_limit", "threshold": 1}, "name"),
        ({"name": "x", "rule_type": "volume", "threshold": 1, "window_secs": 0}, "window_secs"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_spec(spec)
    assert info.value.errors[0][0] == field


def test_thresholds_stay_exact() -> None:
    assert parse_spec(
        {"name": "x", "rule_type": "amount_limit", "threshold": 0.1}
    ).threshold == Decimal("0.1")
    assert isinstance(RuleSpec.model_json_schema(), dict)
