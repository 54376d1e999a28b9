"""Fraud rules and the pure decision over them.

A rule is data (stored in the database, edited through the engine). Deciding is two pure
steps around one storage round: ``window_queries`` says which window statistics the rules
need, the store computes them inside the create transaction (so concurrent creates see
each other), and ``decide`` turns rules + facts + statistics into a ``FraudDecision``.

Velocity and volume count the payments that fraud let through: everything but ``flagged``
payments and those fraud failed (``fraud_blocked``, ``fraud_rejected``). So a velocity
threshold of N admits exactly N payments per window, a burst over the limit does not keep
the tenant flagged once the window has passed, and a card tester whose cards the issuer
declines is still counted (declines are the very signal of card testing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mockpay_core.domain.money import threshold_minor
from mockpay_core.domain.states import Status


class RuleType(StrEnum):
    VELOCITY = "velocity"
    AMOUNT_LIMIT = "amount_limit"
    VOLUME = "volume"
    BLOCKLIST = "blocklist"


class RuleAction(StrEnum):
    FLAG = "flag"
    BLOCK = "block"


class Scope(StrEnum):
    TENANT = "tenant"
    CUSTOMER = "customer"


class Outcome(StrEnum):
    ALLOW = "allow"
    FLAG = "flag"
    BLOCK = "block"


# What a payment looks like when fraud did not let it through; windows do not count it.
NOT_COUNTED_STATUS: Final = Status.FLAGGED.value
FRAUD_FAILURE_CODES: Final = ("fraud_blocked", "fraud_rejected")
OUTCOME_STATUS: Final = {
    Outcome.ALLOW: Status.PENDING,
    Outcome.FLAG: Status.FLAGGED,
    Outcome.BLOCK: Status.FAILED,
}
WINDOW_S_MAX: Final = 31 * 24 * 3600
BLOCKLIST_SIZE_MAX: Final = 10_000


class RuleSpec(BaseModel):
    """The editable part of a rule, as a user writes it (engine API, admin route, scenario)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=100)]
    rule_type: RuleType
    action: RuleAction = RuleAction.FLAG
    threshold: Annotated[Decimal, Field(gt=0, le=10**12, allow_inf_nan=False)] | None = None
    window_secs: Annotated[int, Field(gt=0, le=WINDOW_S_MAX)] | None = None
    scope: Scope = Scope.TENANT
    values: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=255)], ...],
        Field(max_length=BLOCKLIST_SIZE_MAX),
    ] = ()
    is_active: bool = True

    @field_validator("threshold", mode="before")
    @classmethod
    def _no_bool_or_str(cls, v: Any) -> Any:
        if isinstance(v, bool | str):
            raise ValueError("must be a number")
        return Decimal(str(v)) if isinstance(v, float) else v

    @model_validator(mode="after")
    def _fits_type(self) -> RuleSpec:
        t = self.rule_type
        if t in (RuleType.VELOCITY, RuleType.VOLUME) and self.window_secs is None:
            raise ValueError(f"a {t} rule needs window_secs")
        if t is not RuleType.BLOCKLIST and self.threshold is None:
            raise ValueError(f"a {t} rule needs a threshold")
        if t is RuleType.VELOCITY and self.threshold != self.threshold.to_integral_value():  # type: ignore[union-attr]
            raise ValueError("a velocity threshold is a whole number of payments")
        if t is RuleType.BLOCKLIST and not self.values:
            raise ValueError("a blocklist rule needs values")
        return self


@dataclass(frozen=True, slots=True)
class FraudRule:
    id: str
    spec: RuleSpec
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    tenant_id: str
    amount_minor: int
    currency: str
    customer: str | None
    now: datetime


@dataclass(frozen=True, slots=True)
class WindowQuery:
    """One statistic for one rule: count or sum of counted payments since ``since``."""

    rule_id: str
    kind: str  # "count" | "sum"
    since: datetime
    customer: str | None  # None: the whole tenant
    currency: str | None  # sums are per currency
    # Counts stop here: enough to decide, so a busy window (a tenant at 500 creates/s under
    # a 60 s rule) never makes a create count 30,000 rows.
    count_max: int | None = None


@dataclass(frozen=True, slots=True)
class FraudDecision:
    outcome: Outcome
    evaluated: tuple[dict[str, Any], ...]

    @property
    def fired(self) -> tuple[dict[str, Any], ...]:
        return tuple(e for e in self.evaluated if e["fired"])

    @property
    def status(self) -> Status:
        return OUTCOME_STATUS[self.outcome]


def _applies(rule: FraudRule, facts: PaymentFacts) -> bool:
    spec = rule.spec
    needs_customer = spec.scope is Scope.CUSTOMER or spec.rule_type is RuleType.BLOCKLIST
    return spec.is_active and not (needs_customer and facts.customer is None)


def window_queries(rules: list[FraudRule], facts: PaymentFacts) -> list[WindowQuery]:
    queries = []
    for rule in rules:
        spec = rule.spec
        if not _applies(rule, facts) or spec.rule_type not in (RuleType.VELOCITY, RuleType.VOLUME):
            continue
        assert spec.window_secs is not None
        since = facts.now - timedelta(seconds=spec.window_secs)
        customer = facts.customer if spec.scope is Scope.CUSTOMER else None
        if spec.rule_type is RuleType.VELOCITY:
            assert spec.threshold is not None
            # A whole threshold: it fires when count + 1 > threshold, when count >= threshold.
            count_max = int(spec.threshold)
            queries.append(WindowQuery(rule.id, "count", since, customer, None, count_max))
        else:
            queries.append(WindowQuery(rule.id, "sum", since, customer, facts.currency))
    return queries


def decide(rules: list[FraudRule], facts: PaymentFacts, stats: dict[str, int]) -> FraudDecision:
    """Evaluate every applicable rule; any ``block`` wins over any ``flag``."""
    evaluated = []
    for rule in rules:
        if not _applies(rule, facts):
            continue
        spec = rule.spec
        observed: Decimal | int | str | None
        if spec.rule_type is RuleType.VELOCITY:
            observed = stats[rule.id] + 1  # this payment would be the observed-th in the window
            fired = observed > spec.threshold  # type: ignore[operator]
        elif spec.rule_type is RuleType.VOLUME:
            observed = stats[rule.id] + facts.amount_minor
            fired = observed > threshold_minor(spec.threshold, facts.currency)  # type: ignore[arg-type]
        elif spec.rule_type is RuleType.AMOUNT_LIMIT:
            observed = facts.amount_minor
            fired = observed > threshold_minor(spec.threshold, facts.currency)  # type: ignore[arg-type]
        else:
            observed = facts.customer
            fired = facts.customer in spec.values
        evaluated.append(
            {
                "rule_id": rule.id,
                "name": spec.name,
                "rule_type": spec.rule_type.value,
                "action": spec.action.value,
                "threshold": None if spec.threshold is None else str(spec.threshold),
                "window_secs": spec.window_secs,
                "scope": spec.scope.value,
                "observed": observed if isinstance(observed, int | str | None) else str(observed),
                "fired": bool(fired),
            }
        )
    actions = {e["action"] for e in evaluated if e["fired"]}
    if RuleAction.BLOCK.value in actions:
        outcome = Outcome.BLOCK
    elif actions:
        outcome = Outcome.FLAG
    else:
        outcome = Outcome.ALLOW
    return FraudDecision(outcome, tuple(evaluated))


DEFAULT_RULES: Final = (
    RuleSpec(
        name="Velocity check", rule_type=RuleType.VELOCITY, threshold=Decimal(5), window_secs=60
    ),
    RuleSpec(name="High value txn", rule_type=RuleType.AMOUNT_LIMIT, threshold=Decimal(100000)),
)
