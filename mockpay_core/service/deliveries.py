"""The dead-letter queue and delivery history, as tenants and admins see them.

After its last attempt an event is ``dead``, never dropped. A replay puts it back in the
queue under its original event id (so receivers still dedupe it), to the payment's *current*
``webhook_url`` as the original does, and re-enables an endpoint that had answered 410.
"""

from __future__ import annotations

from datetime import datetime

from mockpay_core.domain.delivery import Delivery
from mockpay_core.domain.retry import DeliveryStatus
from mockpay_core.errors import DeliveryNotDead, NotFound, ValidationError
from mockpay_core.service.context import Context

LIST_LIMIT_MAX = 1000


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LIST_LIMIT_MAX:
        raise ValidationError(f"must be between 1 and {LIST_LIMIT_MAX}", "limit")
    return limit


def dead_letters(ctx: Context, tenant_id: str | None, limit: int = 50) -> list[Delivery]:
    """Dead events, newest first; ``tenant_id`` None lists every tenant's (admins)."""
    with ctx.store.reader() as r:
        return r.dead_deliveries(tenant_id, _limit(limit))


def replay(ctx: Context, event_id: str, tenant_id: str | None = None) -> Delivery:
    """Queue one dead event again, due now."""
    now = ctx.clock.now()
    with ctx.store.unit_of_work() as uow:
        found = uow.deliveries(tenant_id, event_id=event_id, limit=1)
        if not found:
            raise NotFound("event", event_id)
        if found[0].status is not DeliveryStatus.DEAD:
            raise DeliveryNotDead(
                f"Event {event_id} is {found[0].status.value}, not dead: only dead events replay"
            )
        uow.replay_dead(now, tenant_id=tenant_id, event_id=event_id)
        (replayed,) = uow.deliveries(tenant_id, event_id=event_id, limit=1)
    return replayed


def recover(ctx: Context, since: datetime, tenant_id: str | None = None) -> int:
    """Queue again every event that died at or after ``since`` (Svix's "recover")."""
    if not isinstance(since, datetime) or since.tzinfo is None:
        raise ValidationError("must be a timezone-aware time", "since")
    with ctx.store.unit_of_work() as uow:
        return uow.replay_dead(ctx.clock.now(), tenant_id=tenant_id, since=since)
