"""Delivery records: what a dispatcher claims, what each attempt was, where an event stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from mockpay_core.domain.model import Record
from mockpay_core.domain.retry import DeliveryStatus


@dataclass(frozen=True, slots=True)
class Claim:
    """One event leased to one dispatcher for one attempt."""

    seq: int
    event_id: str
    tenant_id: str
    payment_id: str
    event_type: str
    payload: dict[str, Any]
    url: str  # the endpoint's URL for an endpoint's copy, else the payment's webhook_url
    attempt: int  # this attempt's number, over every round
    attempt_in_round: int  # 1-based since the latest replay: indexes the retry schedule
    scheduled_at: datetime
    webhook_secret: str
    previous_webhook_secret: str | None
    secret_rotated_at: datetime | None
    endpoint_disabled: bool
    endpoint_secret: str | None = None  # an endpoint's copy: signed Stripe-Signature with it


@dataclass(frozen=True, slots=True)
class Attempt(Record):
    id: str
    event_id: str
    tenant_id: str
    attempt: int
    url: str
    scheduled_at: datetime
    sent_at: datetime
    duration_ms: float
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    succeeded: bool

    _datetimes: ClassVar = ("scheduled_at", "sent_at")


@dataclass(frozen=True, slots=True)
class Delivery(Record):
    """Where one event's delivery stands."""

    event_id: str
    tenant_id: str
    payment_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_error: str | None = None
    delivered_at: datetime | None = None
    dead_at: datetime | None = None
    dead_reason: str | None = None
    payload: dict[str, Any] | None = None

    _datetimes: ClassVar = ("next_attempt_at", "created_at", "delivered_at", "dead_at")
    _enums: ClassVar = {"status": DeliveryStatus}


def signing_secrets(claim: Claim, now: datetime, grace_s: float) -> tuple[str, ...]:
    """The current secret, then the previous one while its grace period lasts."""
    rotated = claim.secret_rotated_at
    if claim.previous_webhook_secret and rotated and now < rotated + timedelta(seconds=grace_s):
        return (claim.webhook_secret, claim.previous_webhook_secret)
    return (claim.webhook_secret,)
