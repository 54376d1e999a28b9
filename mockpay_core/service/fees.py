"""A tenant's fee schedules: the admin's prices per currency, the default otherwise."""

from __future__ import annotations

from typing import Any

import pydantic

from mockpay_core.domain.fees import FeeSchedule
from mockpay_core.domain.money import parse_currency
from mockpay_core.errors import NotFound, ValidationError
from mockpay_core.service import ledger
from mockpay_core.service.context import Context


def set_schedule(
    ctx: Context, tenant_id: str, currency: object, prices: dict[str, Any]
) -> FeeSchedule:
    """Replace the tenant's prices in ``currency``; fields left out keep the configured
    default's. Captures from now on pay them; earlier fees stay as charged."""
    cur = parse_currency(currency)
    try:
        schedule = FeeSchedule.model_validate(ctx.config.ledger.fees.model_dump() | prices)
    except pydantic.ValidationError as exc:
        problems = [(".".join(map(str, e["loc"])) or "body", e["msg"]) for e in exc.errors()]
        raise ValidationError(problems) from None
    with ctx.store.unit_of_work() as uow:
        if not uow.lock_tenant(tenant_id):
            raise NotFound("tenant", tenant_id)
        uow.put_fee_schedule(tenant_id, cur, schedule, ctx.clock.now())
    return schedule


def get_schedule(ctx: Context, tenant_id: str, currency: object) -> FeeSchedule:
    cur = parse_currency(currency)
    with ctx.store.reader() as r:
        if r.get_tenant(tenant_id) is None:
            raise NotFound("tenant", tenant_id)
        return ledger.schedule_for(ctx, r, tenant_id, cur)
