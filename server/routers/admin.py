"""/api/admin: the original's admin routes, now behind the admin token, and ours."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from mockpay_core import Engine, SimulatedClock
from mockpay_core.domain.fraud import FraudRule
from server import wire
from server.deps import Admin_, Calls_, Engine_
from server.errors import RESPONSES, ClockNotSimulated
from server.routers.payments import IdempotencyKey, respond

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=RESPONSES)
DLQ_LIMIT = 50
ADVANCE_S_MAX = 366 * 86400


def _rule(r: FraudRule) -> dict[str, Any]:
    s = r.spec
    return {
        "id": r.id, "name": s.name, "rule_type": s.rule_type.value,
        "threshold": None if s.threshold is None else str(s.threshold),
        "window_secs": s.window_secs, "action": s.action.value, "scope": s.scope.value,
        "values": list(s.values), "is_active": s.is_active, "created_at": wire.ts(r.created_at),
        "updated_at": wire.ts(r.updated_at),
    }  # fmt: skip


@router.get("/dlq", summary="Dead webhook events (newest 50), every tenant's")
def dlq(_: Admin_, e: Engine_, limit: int = DLQ_LIMIT) -> dict[str, Any]:
    attempts_max = e.ctx.config.delivery.schedule.attempts_max
    jobs = [
        wire.dead_letter(d, e.get_payment(d.tenant_id, d.payment_id).webhook_url, attempts_max)
        for d in e.dead_letters(limit=limit)
    ]
    return {"total": len(jobs), "message": f"{len(jobs)} dead webhook events", "failed_jobs": jobs}


@router.post("/dlq/{event_id}/replay", summary="Queue a dead event again, same id, current URL")
def replay(event_id: str, _: Admin_, e: Engine_) -> dict[str, Any]:
    d = e.replay_dead_letter(event_id)
    url = e.get_payment(d.tenant_id, d.payment_id).webhook_url
    return {
        "message": "Webhook re-queued", "original_job_id": event_id, "payment_id": d.payment_id,
        "webhook_url": url,
        "note": "Sent to the payment's current webhook_url with its original webhook-id;"
        " receivers dedupe on it.",
    }  # fmt: skip


class Recover(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: Annotated[datetime, Field(strict=True)]  # an RFC 3339 string with its zone


@router.post("/dlq/recover", summary="Queue again every event dead since a time")
def recover(body: Recover, _: Admin_, e: Engine_) -> dict[str, Any]:
    return {"replayed": e.recover_dead_letters(body.since)}


@router.get("/users", summary="Every tenant, without keys or secrets")
def users(_: Admin_, e: Engine_) -> dict[str, Any]:
    found = [wire.tenant(t) for t in e.list_tenants()]
    return {"total": len(found), "users": found}


class TierBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate_limit_tier: Literal["standard", "original", "unlimited"]


@router.patch("/users/{tenant_id}", summary="Set a tenant's rate-limit tier")
def set_tier(
    request: Request, tenant_id: str, body: TierBody, _: Admin_, e: Engine_
) -> dict[str, Any]:
    changed = e.set_rate_limit_tier(tenant_id, body.rate_limit_tier)
    request.app.state.keys.forget(tenant_id)
    return wire.tenant(changed)


@router.get("/fraud-rules", summary="Every fraud rule")
def rules(_: Admin_, e: Engine_) -> dict[str, Any]:
    found = [_rule(r) for r in e.list_fraud_rules()]
    return {"total": len(found), "rules": found}


@router.post("/fraud-rules", status_code=201, summary="Create a fraud rule")
def create_rule(body: dict[str, Any], _: Admin_, e: Engine_) -> dict[str, Any]:
    tenant_id = body.pop("tenant_id", None)
    return _rule(e.create_fraud_rule(body, tenant_id))


@router.patch("/fraud-rules/{rule_id}", summary="Toggle a rule on or off (the original's PATCH)")
def toggle(rule_id: str, _: Admin_, e: Engine_) -> dict[str, Any]:
    rule = e.set_fraud_rule_active(rule_id)
    message = "Rule enabled" if rule.spec.is_active else "Rule disabled"
    return {"message": message, "rule": _rule(rule)}


@router.put("/fraud-rules/{rule_id}", summary="Edit some fields of a rule")
def edit(rule_id: str, body: dict[str, Any], _: Admin_, e: Engine_) -> dict[str, Any]:
    return _rule(e.update_fraud_rule(rule_id, body))


@router.delete("/fraud-rules/{rule_id}", status_code=204, summary="Delete a rule")
def delete(rule_id: str, _: Admin_, e: Engine_) -> None:
    e.delete_fraud_rule(rule_id)


@router.get("/metrics", summary="Payments, fraud, audit and webhook figures")
def metrics(_: Admin_, e: Engine_) -> dict[str, Any]:
    m = e.metrics()
    payments: dict[str, Any] = m["payments"]  # type: ignore[assignment]
    volume = {c: v["volume_minor"] for c, v in payments["by_currency"].items()}
    total = sum(payments["by_currency"][c]["count"] for c in volume)
    major = {c: float(wire.money(v, c) or 0) for c, v in volume.items()}
    payments["total_volume"] = f"{sum(major.values()):.2f}"  # the original summed currencies
    payments["average_amount"] = f"{sum(major.values()) / total:.2f}" if total else "0.00"
    webhooks: dict[str, Any] = m["webhooks"]  # type: ignore[assignment]
    webhooks["average_retries"] = webhooks["average_attempts"]
    return {
        **m,
        "generated_at": wire.ts(e.clock.now()),
        "system": {"clock": type(e.clock).__name__},
    }


class Advance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: Annotated[float, Field(ge=0, le=ADVANCE_S_MAX)]  # 0: run what is due now


def _due(e: Engine) -> dict[str, Any]:
    """Exact times (microseconds), for a driver that must stop wherever something falls due."""
    delivery, expiry = e.due_times()
    return {
        "now_exact": e.clock.now().isoformat(),
        "next_delivery_due": delivery and delivery.isoformat(),
        "next_authorization_expiry": expiry and expiry.isoformat(),
    }


def advance_clock(request: Request, e: Engine, seconds: float) -> dict[str, int]:
    """Move the simulated clock by ``seconds`` and run what fell due (what was done)."""
    clock = e.clock
    if not isinstance(clock, SimulatedClock):
        raise ClockNotSimulated(
            "The server runs on the system clock (start it with --clock simulated)"
        )
    clock.advance(timedelta(seconds=seconds))
    done: dict[str, int] = request.app.state.run_due()
    return done


@router.post("/clock/advance", summary="Move a simulated clock and run what falls due")
def advance(body: Advance, request: Request, _: Admin_, e: Engine_) -> dict[str, Any]:
    done = advance_clock(request, e, body.seconds)
    return {"now": wire.ts(e.clock.now()), **done, **_due(e)}


@router.get("/clock", summary="The clock (system or simulated), its time and what falls due next")
def clock(_: Admin_, e: Engine_) -> dict[str, Any]:
    kind = "simulated" if isinstance(e.clock, SimulatedClock) else "system"
    return {"clock": kind, "now": wire.ts(e.clock.now()), **_due(e)}


@router.get("/config", summary="The engine's settings (expiries, webhook retries and timeout)")
async def config(_: Admin_, e: Engine_, calls: Calls_) -> dict[str, Any]:
    c = e.ctx.config
    return {
        "authorization_ttl_s": c.authorization_ttl_s, "idempotency_ttl_s": c.idempotency_ttl_s,
        "webhook_timeout_s": c.delivery.timeout_s,
        "settlement_delay_s": c.ledger.settlement_delay_s,
        "payout_failure_p": c.ledger.payout_failure_p,
        "payout_interval_s": c.ledger.payout_interval_s, "fees": c.ledger.fees.model_dump(),
        "retry_schedule": c.delivery.schedule.model_dump(mode="json"),
        "threads": to_thread.current_default_thread_limiter().total_tokens,
        "writers": calls.writers, "write_batches": calls.batches,
        "write_commands": calls.commands, "process_id": os.getpid(),
        "durability": e.store.durability,
    }  # fmt: skip


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: str


@router.post("/payments/{payment_id}/review", summary="Approve or reject a flagged payment")
def review(
    payment_id: str, body: Review, _: Admin_, e: Engine_, key: IdempotencyKey = None
) -> JSONResponse:
    tenant_id = e.payment_tenant(payment_id)
    out = e.review(tenant_id, payment_id, body.decision, idempotency_key=key)
    p = out.value
    content = {"payment_id": p.id, "status": p.status.value, "payment": wire.payment(p)}
    return respond(200, content, out)


@router.get("/reconcile/{tenant_id}", summary="The tenant's ledger against its records")
def reconcile(tenant_id: str, _: Admin_, e: Engine_) -> dict[str, Any]:
    return e.reconcile(tenant_id).to_data()


class FeeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate_bp: int | None = None
    fixed_minor: int | None = None
    dispute_fee_minor: int | None = None
    refund_returns_fee: bool | None = None


@router.put("/fees/{tenant_id}/{currency}", summary="Set a tenant's fees in one currency")
def set_fees(tenant_id: str, currency: str, body: FeeBody, _: Admin_, e: Engine_) -> Any:
    prices = body.model_dump(exclude_none=True)
    return {"tenant_id": tenant_id, "currency": currency.upper(),
            **e.set_fee_schedule(tenant_id, currency, **prices).model_dump()}  # fmt: skip


@router.get("/fees/{tenant_id}/{currency}", summary="A tenant's fees in one currency")
def fees(tenant_id: str, currency: str, _: Admin_, e: Engine_) -> Any:
    return {"tenant_id": tenant_id, "currency": currency.upper(),
            **e.fee_schedule(tenant_id, currency).model_dump()}  # fmt: skip
