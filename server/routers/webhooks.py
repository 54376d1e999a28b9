"""/api/webhooks: a tenant's own dead-letter queue, listed and replayed with its API key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mockpay_core import Engine
from server import wire
from server.deps import Calls_, Tenant_
from server.errors import RESPONSES

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"], responses=RESPONSES)
DLQ_LIMIT = 50


@router.get("/dead-letters", summary="This tenant's dead webhook events, newest first")
async def dead_letters(t: Tenant_, c: Calls_, limit: int = DLQ_LIMIT) -> dict[str, Any]:
    jobs = await c.read(lambda e: _dead_letters(e, t.id, limit))
    return {"total": len(jobs), "message": f"{len(jobs)} dead webhook events", "failed_jobs": jobs}


@router.post(
    "/dead-letters/{event_id}/replay", summary="Queue one of this tenant's dead events again"
)
async def replay(event_id: str, t: Tenant_, c: Calls_) -> dict[str, Any]:
    d = await c.write(lambda e: e.replay_dead_letter(event_id, tenant_id=t.id), t.id)
    payment = await c.read(lambda e: e.get_payment(t.id, d.payment_id))
    return {
        "message": "Webhook re-queued", "original_job_id": event_id, "payment_id": d.payment_id,
        "webhook_url": payment.webhook_url,
    }  # fmt: skip


def _dead_letters(e: Engine, tenant_id: str, limit: int) -> list[dict[str, Any]]:
    attempts_max = e.ctx.config.delivery.schedule.attempts_max
    return [
        wire.dead_letter(d, e.get_payment(tenant_id, d.payment_id).webhook_url, attempts_max)
        for d in e.dead_letters(tenant_id, limit=limit)
    ]
