"""WebhookEndpoints (the Stripe face's): where a tenant wants Stripe-shaped events.

Each command is idempotent like the payment commands. A URL passes the same SSRF policy
as a payment's ``webhook_url``. A tenant has at most ``ENDPOINTS_MAX`` endpoints that are
not deleted (Stripe's limit); deleting keeps the row (``deleted_at``), so deliveries
already written to it go dead as ``endpoint_disabled`` rather than to a stranger.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Final

from mockpay_core.domain import validation as v
from mockpay_core.domain.model import Outcome, WebhookEndpoint
from mockpay_core.domain.validation import collect
from mockpay_core.errors import NotFound, ValidationError
from mockpay_core.service import idempotency
from mockpay_core.service.context import Context
from mockpay_core.service.payments import _checked_url
from mockpay_core.service.tenants import new_webhook_secret
from mockpay_core.storage.protocol import UnitOfWork

ENDPOINTS_MAX: Final = 16
EVENT_TYPES_MAX: Final = 100
EVENT_TYPE_LEN_MAX: Final = 100
API_VERSION_LEN_MAX: Final = 40
STATUSES: Final = ("enabled", "disabled")


def _url(ctx: Context, value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("must be a URL", "url")
    try:
        return _checked_url(value, ctx.config.delivery.address_policy)
    except ValidationError as exc:
        raise ValidationError(exc.errors[0][1], "url") from None


def event_types(value: object) -> list[str]:
    """A non-empty list of Stripe event types, or ``["*"]``, without repeats."""
    field = "enabled_events"
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError("must be a non-empty list of event types", field)
    if len(value) > EVENT_TYPES_MAX:
        raise ValidationError(f"must have at most {EVENT_TYPES_MAX} types", field)
    for item in value:
        if not isinstance(item, str) or not 0 < len(item) <= EVENT_TYPE_LEN_MAX:
            raise ValidationError(f"types are strings of 1-{EVENT_TYPE_LEN_MAX} characters", field)
    return list(dict.fromkeys(value))


def create(
    ctx: Context,
    tenant_id: str,
    *,
    url: object,
    enabled_events: object,
    description: object = None,
    metadata: object = None,
    api_version: object = None,
    idempotency_key: object = None,
) -> Outcome[WebhookEndpoint]:
    """A new enabled endpoint with a fresh ``whsec_`` secret (shown by this answer only)."""
    checked_url, types, desc, meta, version = collect(
        lambda: _url(ctx, url),
        lambda: event_types(enabled_events),
        lambda: v.optional_text(description, "description", v.DESCRIPTION_LEN_MAX),
        lambda: v.metadata(metadata),
        lambda: v.optional_text(api_version, "api_version", API_VERSION_LEN_MAX),
    )

    def execute(uow: UnitOfWork, now: datetime) -> WebhookEndpoint:
        if uow.get_tenant(tenant_id) is None:
            raise NotFound("tenant", tenant_id)
        if len(uow.list_endpoints(tenant_id, ENDPOINTS_MAX)) >= ENDPOINTS_MAX:
            raise ValidationError(f"a tenant has at most {ENDPOINTS_MAX} endpoints", "url")
        endpoint = WebhookEndpoint(
            id=ctx.ids.uuid(), tenant_id=tenant_id, url=checked_url, enabled_events=types,
            secret=new_webhook_secret(ctx), status="enabled", description=desc, metadata=meta,
            api_version=version, created_at=now,
        )  # fmt: skip
        uow.insert_endpoint(endpoint)
        return endpoint

    params = {"url": checked_url, "enabled_events": types, "description": desc,
              "metadata": meta, "api_version": version}  # fmt: skip
    return idempotency.run_keyed(
        ctx,
        tenant_id,
        idempotency_key,
        "create_endpoint",
        None,
        params,
        execute,
        WebhookEndpoint.from_data,
    )


def _live(uow: UnitOfWork, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
    found = uow.get_endpoint(tenant_id, endpoint_id)
    if found is None or found.deleted_at is not None:
        raise NotFound("webhook_endpoint", endpoint_id)
    return found


def update(
    ctx: Context,
    tenant_id: str,
    endpoint_id: str,
    *,
    url: object = None,
    enabled_events: object = None,
    disabled: object = None,
    description: object = None,
    metadata: object = None,
    idempotency_key: object = None,
) -> Outcome[WebhookEndpoint]:
    """Change what is given (None: kept); ``metadata`` replaces the whole map."""
    checked_url, types, desc, meta = collect(
        lambda: None if url is None else _url(ctx, url),
        lambda: None if enabled_events is None else event_types(enabled_events),
        lambda: v.optional_text(description, "description", v.DESCRIPTION_LEN_MAX),
        lambda: None if metadata is None else v.metadata(metadata),
    )
    if disabled is not None and not isinstance(disabled, bool):
        raise ValidationError("must be a boolean", "disabled")

    def execute(uow: UnitOfWork, now: datetime) -> WebhookEndpoint:
        found = _live(uow, tenant_id, endpoint_id)
        changes: dict[str, Any] = {
            "url": checked_url, "enabled_events": types, "description": desc, "metadata": meta,
            "status": None if disabled is None else STATUSES[int(bool(disabled))],
        }  # fmt: skip
        after = dataclasses.replace(found, **{k: x for k, x in changes.items() if x is not None})
        uow.update_endpoint(after)
        return after

    params = {"url": checked_url, "enabled_events": types, "disabled": disabled,
              "description": desc, "metadata": meta}  # fmt: skip
    return idempotency.run_keyed(
        ctx,
        tenant_id,
        idempotency_key,
        "update_endpoint",
        endpoint_id,
        params,
        execute,
        WebhookEndpoint.from_data,
    )


def delete(
    ctx: Context, tenant_id: str, endpoint_id: str, *, idempotency_key: object = None
) -> Outcome[WebhookEndpoint]:
    """Mark the endpoint deleted: later reads are ``not_found``, nothing more is sent to it."""

    def execute(uow: UnitOfWork, now: datetime) -> WebhookEndpoint:
        after = dataclasses.replace(_live(uow, tenant_id, endpoint_id), deleted_at=now)
        uow.update_endpoint(after)
        return after

    return idempotency.run_keyed(
        ctx,
        tenant_id,
        idempotency_key,
        "delete_endpoint",
        endpoint_id,
        {},
        execute,
        WebhookEndpoint.from_data,
    )


def get(ctx: Context, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
    with ctx.store.reader() as r:
        found = r.get_endpoint(tenant_id, endpoint_id)
    if found is None or found.deleted_at is not None:
        raise NotFound("webhook_endpoint", endpoint_id)
    return found


def listing(ctx: Context, tenant_id: str) -> list[WebhookEndpoint]:
    """Every endpoint of the tenant that is not deleted (at most ``ENDPOINTS_MAX``)."""
    with ctx.store.reader() as r:
        return r.list_endpoints(tenant_id, ENDPOINTS_MAX)
