"""/v1/webhook_endpoints: create (the ``secret`` answered once), retrieve, update, delete,
list. Deliveries to them are ``server.stripe.webhooks``'s."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mockpay_core.domain.model import WebhookEndpoint
from mockpay_core.errors import ValidationError
from server.deps import Calls_, Tenant_
from server.stripe import ids, paging, params, views
from server.stripe.errors import RESPONSES, StripeRoute
from server.stripe.intents import respond
from server.stripe.openapi import form, query

router = APIRouter(route_class=StripeRoute, responses=RESPONSES, tags=["stripe"])
_FIELDS = ("url", "enabled_events", "description", "metadata")


def view(w: WebhookEndpoint, with_secret: bool = False) -> dict[str, Any]:
    body = {
        "id": ids.encode("webhook_endpoint", w.id), "object": "webhook_endpoint",
        "api_version": w.api_version, "application": None, "created": views.unix(w.created_at),
        "description": w.description, "enabled_events": list(w.enabled_events),
        "livemode": False, "metadata": w.metadata, "status": w.status, "url": w.url,
    }  # fmt: skip
    return {**body, "secret": w.secret} if with_secret else body


def _events(sent: dict[str, Any], required: bool) -> list[str] | None:
    value = sent.get("enabled_events")
    if value is None or value == "":
        if required:
            raise ValidationError("Missing required param: enabled_events.", "enabled_events")
        return None
    return [value] if isinstance(value, str) else value


def _disabled(sent: dict[str, Any]) -> bool | None:
    return params.boolean(sent, "disabled") if "disabled" in sent else None


_CREATE_FORM = form(*_FIELDS, "api_version", required=("url", "enabled_events"))


@router.post("/webhook_endpoints", summary="Create a WebhookEndpoint", openapi_extra=_CREATE_FORM)
async def create(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    url, events = params.text(sent, "url", required=True), _events(sent, True)
    version = params.text(sent, "api_version") or request.headers.get("stripe-version")
    key = params.idempotency_key(request)
    out = await c.write(
        lambda e: e.create_webhook_endpoint(
            t.id, url=url, enabled_events=events, description=params.text(sent, "description"),
            metadata=params.metadata(sent), api_version=version, idempotency_key=key,
        ), t.id,
    )  # fmt: skip
    return respond(view(out.value, with_secret=True), out.replayed)


def _id(stripe_id: str) -> str:
    return ids.decode("webhook_endpoint", stripe_id)[0]


@router.get("/webhook_endpoints/{endpoint}", summary="Retrieve a WebhookEndpoint")
async def retrieve(endpoint: str, t: Tenant_, c: Calls_) -> JSONResponse:
    found = await c.read(lambda e: e.get_webhook_endpoint(t.id, _id(endpoint)))
    return respond(view(found), False)


@router.post("/webhook_endpoints/{endpoint}", summary="Update a WebhookEndpoint",
             openapi_extra=form(*_FIELDS, "disabled"))  # fmt: skip
async def update(endpoint: str, request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    endpoint_id, key = _id(endpoint), params.idempotency_key(request)
    out = await c.write(
        lambda e: e.update_webhook_endpoint(
            t.id, endpoint_id, url=params.text(sent, "url"), enabled_events=_events(sent, False),
            disabled=_disabled(sent), description=params.text(sent, "description"),
            metadata=params.metadata(sent), idempotency_key=key,
        ), t.id,
    )  # fmt: skip
    return respond(view(out.value), out.replayed)


@router.delete("/webhook_endpoints/{endpoint}", summary="Delete a WebhookEndpoint")
async def delete(endpoint: str, request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    endpoint_id, key = _id(endpoint), params.idempotency_key(request)
    out = await c.write(
        lambda e: e.delete_webhook_endpoint(t.id, endpoint_id, idempotency_key=key), t.id
    )
    body = {"id": endpoint, "object": "webhook_endpoint", "deleted": True}
    return respond(body, out.replayed)


@router.get("/webhook_endpoints", summary="List WebhookEndpoints, newest first",
            openapi_extra=query("limit", "starting_after", "ending_before"))  # fmt: skip
async def listing(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    rows = [view(w) for w in await c.read(lambda e: e.list_webhook_endpoints(t.id))]
    return respond(paging.listing(rows, sent, "/v1/webhook_endpoints"), False)
