"""/api/webhooks: a tenant's own dead-letter queue, listed and replayed with its API key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server import wire
from server.deps import Engine_, Tenant_
from server.errors import RESPONSES

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"], responses=RESPONSES)
DLQ_LIMIT = 50


@router.get("/dead-letters", summary="This tenant's dead webhook events, newest first")
def dead_letters(t: Tenant_, e: Engine_, limit: int = DLQ_LIMIT) -> dict[str, Any]:
    attempts_max = e.ctx.config.delivery.schedule.attempts_max
    jobs = [
        wire.dead_letter(d, e.get_payment(t.id, d.payment_id).webhook_url, attempts_max)
        for d in e.dead_letters(t.id, limit=limit)
    ]
    return {"total": len(jobs), "message": f"{len(jobs)} dead webhook events", "failed_jobs": jobs}


@router.post(
    "/dead-letters/{event_id}/replay", summary="Queue one of this tenant's dead events again"
)
def replay(event_id: str, t: Tenant_, e: Engine_) -> dict[str, Any]:
    d = e.replay_dead_letter(event_id, tenant_id=t.id)
    return {
        "message": "Webhook re-queued", "original_job_id": event_id, "payment_id": d.payment_id,
        "webhook_url": e.get_payment(t.id, d.payment_id).webhook_url,
    }  # fmt: skip
