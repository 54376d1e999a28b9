"""What happens after a delivery attempt: delivered, retried when, or dead and why.

The schedule is a list of delays between attempts. The default is the Standard Webhooks /
Svix one (immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), each delay with
+-10 % jitter drawn from a seeded RNG so that retries of many events do not arrive in
lockstep; ``ORIGINAL`` is MockPay's (3 attempts, 2 s apart).

An attempt succeeds on any 2xx within the timeout. Everything else fails it: other statuses
(redirects are not followed), timeouts, refused or reset connections. ``410 Gone`` disables
the endpoint and sends the event straight to the dead-letter queue. ``Retry-After`` on 429
and 503 is honoured when it asks for more than the schedule, up to ``RETRY_AFTER_S_MAX``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Annotated, Final, Protocol

from pydantic import BaseModel, ConfigDict, Field

RETRY_AFTER_S_MAX: Final = 24 * 3600
ATTEMPTS_MAX: Final = 50


class Rng(Protocol):
    """The part of ``random.Random`` the schedule uses; seeded by whoever runs deliveries."""

    def uniform(self, a: float, b: float) -> float: ...


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    DEAD = "dead"


class RetrySchedule(BaseModel):
    """Delays before each attempt (the first is usually 0) and the jitter applied to them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delays_s: Annotated[
        tuple[Annotated[float, Field(ge=0, le=7 * 24 * 3600)], ...],
        Field(min_length=1, max_length=ATTEMPTS_MAX),
    ]
    jitter: Annotated[float, Field(ge=0, le=0.5)] = 0.1

    @property
    def attempts_max(self) -> int:
        return len(self.delays_s)

    def delay_before(self, attempt: int, rng: Rng) -> float:
        """Seconds to wait before attempt number ``attempt`` (1-based), jittered."""
        base = self.delays_s[attempt - 1]
        return base * (1 + rng.uniform(-self.jitter, self.jitter)) if base else 0.0


STANDARD_WEBHOOKS: Final = RetrySchedule(
    delays_s=(0, 5, 300, 1800, 7200, 18000, 36000, 36000), jitter=0.1
)
ORIGINAL: Final = RetrySchedule(delays_s=(0, 2, 2), jitter=0.0)
PRESETS: Final = {"standard_webhooks": STANDARD_WEBHOOKS, "original": ORIGINAL}


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What the transport saw: a status code, or an error class (timeout, refused, ...)."""

    status_code: int | None
    error: str | None = None
    retry_after_s: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class Verdict:
    status: DeliveryStatus
    next_attempt_at: datetime | None = None
    dead_reason: str | None = None
    disable_endpoint: bool = False


def judge(
    result: AttemptResult,
    attempt: int,
    schedule: RetrySchedule,
    now: datetime,
    rng: Rng,
) -> Verdict:
    """The verdict after attempt number ``attempt`` (1-based, counted in this round)."""
    if result.succeeded:
        return Verdict(DeliveryStatus.DELIVERED)
    if result.status_code == 410:
        return Verdict(DeliveryStatus.DEAD, dead_reason="endpoint_gone", disable_endpoint=True)
    if attempt >= schedule.attempts_max:
        return Verdict(DeliveryStatus.DEAD, dead_reason="attempts_exhausted")
    delay = schedule.delay_before(attempt + 1, rng)
    if result.retry_after_s is not None and result.status_code in (429, 503):
        delay = max(delay, min(result.retry_after_s, RETRY_AFTER_S_MAX))
    return Verdict(DeliveryStatus.PENDING, next_attempt_at=now + timedelta(seconds=delay))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
