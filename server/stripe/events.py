"""/v1/events: the engine's outbox rows as Stripe Event objects (retrieve, list with a
``type`` filter, ``payment_intent.*`` wildcards too).

``data.object`` is the object as it is now, not as it was when the event was written:
the engine's payloads are MockPay's shape, and phase 1 renders Stripe's from the records.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mockpay_core import Engine, Payment
from mockpay_core.domain.model import Event
from mockpay_core.errors import NotFound
from server.deps import Calls_, Tenant_
from server.stripe import ids, paging, params, views, webhooks
from server.stripe.errors import RESPONSES, StripeRoute
from server.stripe.intents import respond

router = APIRouter(route_class=StripeRoute, responses=RESPONSES, tags=["stripe"])
SCAN_MAX: Final = 1000


def _render(e: Engine, tenant_id: str, events: list[Event]) -> list[dict[str, Any]]:
    payments: dict[str, Payment] = {}
    rows = []
    for ev in events:
        if ev.payment_id not in payments:
            payments[ev.payment_id] = e.get_payment(tenant_id, ev.payment_id)
        p = payments[ev.payment_id]
        rows.append(views.event(ev, webhooks.data_object(e, views.stripe_type(ev.type), ev, p)))
    return rows


def _matches(kind: str, wanted: str | None) -> bool:
    if wanted is None:
        return True
    if wanted.endswith(".*"):
        return kind.startswith(wanted[:-1])
    return kind == wanted


@router.get("/events/{event}", summary="Retrieve an Event")
async def event(event: str, t: Tenant_, c: Calls_) -> JSONResponse:
    payment_id, event_id = ids.decode("event", event)

    def read(e: Engine) -> dict[str, Any]:
        found = [ev for ev in e.events(t.id, payment_id, SCAN_MAX) if ev.id == event_id]
        if not found:
            raise NotFound("event", event)
        return _render(e, t.id, found)[0]

    return respond(await c.read(read), False)


@router.get("/events", summary="List Events, newest first")
async def events(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    wanted = params.text(sent, "type")

    def read(e: Engine) -> list[dict[str, Any]]:
        found = [
            ev for ev in reversed(e.events(t.id, None, SCAN_MAX))
            if _matches(views.stripe_type(ev.type), wanted)
        ]  # fmt: skip
        return _render(e, t.id, found)

    return respond(paging.listing(await c.read(read), sent, "/v1/events"), False)
