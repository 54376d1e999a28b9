"""Typed engine configuration. Only the CLI and the server read the environment."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from mockpay_core.domain.addresses import AddressPolicy
from mockpay_core.domain.fees import DEFAULT, FeeSchedule
from mockpay_core.domain.retry import STANDARD_WEBHOOKS, RetrySchedule

DAY_S = 24 * 3600


class DeliveryConfig(BaseModel):
    """How webhooks are delivered (see ``mockpay_core.delivery``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schedule: RetrySchedule = STANDARD_WEBHOOKS
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 50
    lease_margin_s: Annotated[float, Field(ge=1, le=3600)] = 30.0
    """A claim's lease: batch_size * timeout_s plus this; then the batch may be re-sent."""
    secret_grace_s: Annotated[int, Field(ge=0, le=30 * DAY_S)] = DAY_S
    """After a secret rotation, deliveries are signed with both secrets this long."""
    address_policy: AddressPolicy = AddressPolicy()
    """Which addresses webhook URLs may point to (checked at creation and at connect)."""


class LedgerConfig(BaseModel):
    """The books (see ``mockpay_core.domain.ledger``): when captured money settles and how
    often payouts sweep the available balance, on the engine's clock."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    """False writes no ledger entries (a benchmark's comparison; balances stay empty)."""
    settlement_delay_s: Annotated[int, Field(ge=0, le=90 * DAY_S)] = 2 * DAY_S
    """A capture's money moves from pending to available this long after the capture."""
    payout_interval_s: Annotated[int, Field(ge=3600, le=31 * DAY_S)] = DAY_S
    """Scheduled payouts run once per window of this length per tenant and currency."""
    payout_failure_p: Annotated[float, Field(ge=0, le=1)] = 0.0
    """The share of payouts that fail (their money comes back to available)."""
    fees: FeeSchedule = DEFAULT
    """The fee schedule of every tenant and currency the admin set none for."""


class EngineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    authorization_ttl_s: Annotated[int, Field(gt=0, le=365 * DAY_S)] = 7 * DAY_S
    """An authorization not captured within this time expires to ``canceled``."""
    idempotency_ttl_s: Annotated[int, Field(gt=0, le=30 * DAY_S)] = DAY_S
    """After this, an idempotency key starts a new request."""
    idempotency: bool = True
    """False ignores every idempotency key: a teaching switch (notebook 2) that shows the
    double charges concurrent retries cause without it. Never turn it off for real clients."""
    default_rate_limit_tier: Annotated[str, Field(min_length=1, max_length=50)] = "standard"
    seed_default_fraud_rules: bool = True
    """Install the original's two rules the first time a database is opened."""
    delivery: DeliveryConfig = DeliveryConfig()
    ledger: LedgerConfig = LedgerConfig()
