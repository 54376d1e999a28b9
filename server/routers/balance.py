"""/api/balance and /api/payouts: a tenant's books (see mockpay_core.domain.ledger)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from mockpay_core.domain.money import CURRENCY_EXPONENTS
from server import wire
from server.deps import Calls_, Tenant_
from server.errors import RESPONSES
from server.routers.payments import IdempotencyKey, respond

router = APIRouter(prefix="/api", tags=["balance"], responses=RESPONSES)


class PayoutBody(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"required": ["currency"]})
    currency: Any = Field(
        None, json_schema_extra={"type": "string", "enum": list(CURRENCY_EXPONENTS)}
    )
    amount: Any = Field(None, json_schema_extra={"type": "number", "exclusiveMinimum": 0})


@router.get("/balance", summary="Available, pending, reserved and authorized per currency")
async def balance(t: Tenant_, c: Calls_) -> dict[str, Any]:
    found = await c.read(lambda e: e.balance(t.id))
    return {"tenant_id": t.id, "balances": [wire.balance(b) for b in found]}


@router.get("/balance/transactions", summary="The ledger's entries, oldest first, paged")
async def transactions(
    t: Tenant_,
    c: Calls_,
    limit: Annotated[int, Query()] = 100,
    starting_after: str | None = None,
) -> dict[str, Any]:
    page = await c.read(lambda e: e.ledger(t.id, limit=limit, starting_after=starting_after))
    return {
        "data": [wire.ledger_entry(x) for x in page.data],
        "has_more": page.has_more,
        "next_cursor": page.next_cursor,
    }


@router.get("/payouts", summary="Payouts, newest first")
async def payouts(t: Tenant_, c: Calls_, limit: Annotated[int, Query()] = 100) -> dict[str, Any]:
    found = await c.read(lambda e: e.payouts(t.id, limit))
    return {"data": [wire.payout(p) for p in found], "total": len(found)}


@router.post("/payouts", status_code=201, summary="Pay out what is available, or part of it")
async def create_payout(
    body: PayoutBody, t: Tenant_, c: Calls_, key: IdempotencyKey = None
) -> JSONResponse:
    out = await c.write(
        lambda e: e.create_payout(
            t.id, currency=body.currency, amount=body.amount, idempotency_key=key
        ),
        t.id,
    )
    return respond(201, wire.payout(out.value), out)
