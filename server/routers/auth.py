"""/api/auth: registration and the caller's own credentials."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from mockpay_core.errors import ValidationError
from server import wire
from server.deps import Calls_, Tenant_
from server.errors import RESPONSES

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=RESPONSES)
INSTRUCTIONS = {
    "api_key_usage": "Send it as 'Authorization: Bearer <api_key>'. It is shown only now:"
    " MockPay Lab stores only its hash.",
    "webhook_secret_usage": "Verify each webhook's 'webhook-signature' (Standard Webhooks) or"
    " 'X-MockPay-Signature' (sha256 HMAC of the body) with this secret.",
}


class Register(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"required": ["name", "email"]})
    name: Any = Field(None, json_schema_extra={"type": "string", "minLength": 1, "maxLength": 255})
    email: Any = Field(
        None, json_schema_extra={"type": "string", "format": "email", "maxLength": 254}
    )


@router.post("/register", status_code=201, summary="Register a tenant: api key and webhook secret")
async def register(body: Register, c: Calls_) -> dict[str, Any]:
    if not body.name or not body.email:
        missing = [(f, "is required") for f in ("name", "email") if not getattr(body, f)]
        raise ValidationError(missing, message="Name and email are required")
    new = await c.write(lambda e: e.register_tenant(body.name, body.email), None)
    t = new.tenant
    return {
        "message": "Tenant registered successfully",
        **wire.tenant(t),
        "api_key": new.api_key,
        "webhook_secret": t.webhook_secret,
        "instructions": INSTRUCTIONS,
    }


@router.get("/me", summary="The calling tenant's credentials")
async def me(request: Request, t: Tenant_, c: Calls_) -> dict[str, Any]:
    # the key cache may hold a secret rotated by another process
    fresh = await c.read(lambda e: e.get_tenant(t.id))
    return {
        **wire.tenant(fresh), "api_key": request.state.api_key,
        "webhook_secret": fresh.webhook_secret,
    }  # fmt: skip


@router.post("/rotate-secret", summary="A new webhook secret; the old one signs for 24 h more")
async def rotate(request: Request, t: Tenant_, c: Calls_) -> dict[str, Any]:
    rotated = await c.write(lambda e: e.rotate_webhook_secret(t.id), t.id)
    request.app.state.keys.forget(t.id)
    return {
        "webhook_secret": rotated.webhook_secret,
        "previous_webhook_secret": rotated.previous_webhook_secret,
        "rotated_at": wire.ts(rotated.secret_rotated_at),
    }
