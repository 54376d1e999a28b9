"""Typed engine configuration. Only the CLI and the server read the environment."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

DAY_S = 24 * 3600


class EngineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    authorization_ttl_s: Annotated[int, Field(gt=0, le=365 * DAY_S)] = 7 * DAY_S
    """An authorization not captured within this time expires to ``canceled``."""
    idempotency_ttl_s: Annotated[int, Field(gt=0, le=30 * DAY_S)] = DAY_S
    """After this, an idempotency key starts a new request."""
    default_rate_limit_tier: Annotated[str, Field(min_length=1, max_length=50)] = "standard"
    seed_default_fraud_rules: bool = True
    """Install the original's two rules the first time a database is opened."""
