"""Reads that look across a tenant's (or every tenant's) rows: the newest deliveries,
a payment's events with their deliveries, payments per minute by status, the decisions on
the newest payments. The dashboard draws them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mockpay_core.domain.delivery import Delivery
from mockpay_core.domain.model import Event
from mockpay_core.domain.retry import DeliveryStatus
from mockpay_core.domain.states import Status
from mockpay_core.domain.validation import choice
from mockpay_core.errors import NotFound, ValidationError
from mockpay_core.service.context import Context

DELIVERIES_LIMIT_MAX = 500
DECISIONS_LIMIT_MAX = 500
MINUTES_MAX = 24 * 60
ACTIVITY_LIMIT_MAX = 1000


@dataclass(frozen=True, slots=True)
class MinuteCounts:
    """Payments created per minute, by status: ``by_status[s][i]`` were created in the
    minute starting ``start + i`` minutes (the last one is the current minute)."""

    start: datetime
    minutes: int
    by_status: dict[str, list[int]]

    @property
    def total(self) -> int:
        return sum(sum(counts) for counts in self.by_status.values())


def _bounded(value: int, name: str, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ValidationError(f"must be a whole number from 1 to {most}", name)
    return value


def recent_deliveries(
    ctx: Context, tenant_id: str | None, status: object = None, limit: int = 50
) -> list[Delivery]:
    """Deliveries of ``status`` (pending soonest due first, delivering soonest lease end
    first, dead latest first, delivered or any newest first)."""
    state = None if status is None else choice(status, "status", tuple(DeliveryStatus))
    n = _bounded(limit, "limit", DELIVERIES_LIMIT_MAX)
    with ctx.store.reader() as r:
        return r.recent_deliveries(tenant_id, state, n)


def payments_per_minute(ctx: Context, tenant_id: str | None, minutes: int = 60) -> MinuteCounts:
    """The last ``minutes`` whole minutes of the clock, the current one included."""
    n = _bounded(minutes, "minutes", MINUTES_MAX)
    now = ctx.clock.now()
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=n - 1)
    with ctx.store.reader() as r:
        rows = r.payments_per_minute(tenant_id, start)
    by_status = {s.value: [0] * n for s in Status}
    for minute, status, count in rows:
        if 0 <= minute < n:  # a payment stamped after the clock's now: not drawn
            by_status[status][minute] += count
    return MinuteCounts(start, n, by_status)


def recent_decisions(ctx: Context, tenant_id: str, limit: int = 100) -> list[dict[str, Any]]:
    n = _bounded(limit, "limit", DECISIONS_LIMIT_MAX)
    with ctx.store.reader() as r:
        return r.recent_decisions(tenant_id, n)


def payment_activity(
    ctx: Context, tenant_id: str, payment_id: str, limit: int = 100
) -> list[tuple[Event, Delivery | None]]:
    n = _bounded(limit, "limit", ACTIVITY_LIMIT_MAX)
    with ctx.store.reader() as r:
        if r.get_payment(tenant_id, payment_id) is None:
            raise NotFound("payment", payment_id)
        return r.payment_activity(tenant_id, payment_id, n)
