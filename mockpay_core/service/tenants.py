"""Tenants: registration, api-key authentication, webhook-secret rotation.

An api key keeps the original's shape (32 random bytes as 64 hex characters) but only its
SHA-256 is stored, so a leaked database leaks no keys; authenticating is one lookup on a
unique index. Webhook secrets are in Standard Webhooks form: ``whsec_`` + base64 of 32
random bytes.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re

from mockpay_core.domain import validation as v
from mockpay_core.domain.model import NewTenant, Tenant
from mockpay_core.domain.validation import collect
from mockpay_core.errors import AuthenticationError, EmailTaken, NotFound, ValidationError
from mockpay_core.service.context import Context

API_KEY_BYTES = 32
SECRET_BYTES = 32
SECRET_PREFIX = "whsec_"
TIER_LEN_MAX = 50
_API_KEY_SHAPE = re.compile(r"[0-9a-f]{64}")


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("ascii")).hexdigest()


def new_webhook_secret(ctx: Context) -> str:
    return SECRET_PREFIX + base64.b64encode(ctx.ids.token_bytes(SECRET_BYTES)).decode("ascii")


def register(
    ctx: Context, name: object, email: object, rate_limit_tier: object = None
) -> NewTenant:
    clean_name, clean_email, tier = collect(
        lambda: v.name(name),
        lambda: v.email(email),
        lambda: v.optional_text(rate_limit_tier, "rate_limit_tier", TIER_LEN_MAX),
    )
    api_key = ctx.ids.token_bytes(API_KEY_BYTES).hex()
    with ctx.store.unit_of_work() as uow:
        if uow.email_registered(clean_email):
            raise EmailTaken("Email already registered")
        tenant = Tenant(
            id=ctx.ids.uuid(),
            name=clean_name,
            email=clean_email,
            webhook_secret=new_webhook_secret(ctx),
            rate_limit_tier=tier or ctx.config.default_rate_limit_tier,
            created_at=ctx.clock.now(),
        )
        uow.insert_tenant(tenant, hash_api_key(api_key))
    return NewTenant(tenant, api_key)


def authenticate(ctx: Context, api_key: object) -> Tenant:
    """The tenant owning ``api_key``; ``AuthenticationError`` for a missing or unknown key."""
    if api_key is None or api_key == "":
        raise AuthenticationError("API key missing")
    if not isinstance(api_key, str) or not _API_KEY_SHAPE.fullmatch(api_key):
        raise AuthenticationError("Invalid API key")
    with ctx.store.reader() as r:
        tenant = r.tenant_by_key_hash(hash_api_key(api_key))
    if tenant is None:
        raise AuthenticationError("Invalid API key")
    return tenant


def rotate_secret(ctx: Context, tenant_id: str) -> Tenant:
    """A new webhook secret; the old one stays valid for signing during a grace period."""
    with ctx.store.unit_of_work() as uow:
        tenant = uow.get_tenant(tenant_id)
        if tenant is None:
            raise NotFound("tenant", tenant_id)
        rotated = dataclasses.replace(
            tenant,
            webhook_secret=new_webhook_secret(ctx),
            previous_webhook_secret=tenant.webhook_secret,
            secret_rotated_at=ctx.clock.now(),
        )
        uow.update_tenant(rotated)
    return rotated


def set_tier(ctx: Context, tenant_id: str, tier: object) -> Tenant:
    clean = v.optional_text(tier, "rate_limit_tier", TIER_LEN_MAX)
    if clean is None:
        raise ValidationError("is required", "rate_limit_tier")
    with ctx.store.unit_of_work() as uow:
        tenant = uow.get_tenant(tenant_id)
        if tenant is None:
            raise NotFound("tenant", tenant_id)
        updated = dataclasses.replace(tenant, rate_limit_tier=clean)
        uow.update_tenant(updated)
    return updated
