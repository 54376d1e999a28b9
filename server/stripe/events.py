"""/v1/events: the engine's outbox rows as Stripe Event objects (retrieve, list with
``type`` (``payment_intent.*`` wildcards too), ``types[]`` and ``created`` filters).

One engine event is as many Stripe events as Stripe types stand for it
(``webhooks.webhook_types``: ``payment.success`` is ``payment_intent.succeeded`` and
``charge.succeeded``), each with its own id (``ids.encode_event``), the ids its webhooks
carry. ``data.object`` is the object as it is now, not as it was when the event was
written: the engine's payloads are MockPay's shape (a webhook's body is the snapshot).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mockpay_core import Engine, Payment
from mockpay_core.domain.model import Event, Payout
from mockpay_core.errors import NotFound, ValidationError
from mockpay_core.service.payouts import EVENT_TYPES
from server.deps import Calls_, Tenant_
from server.stripe import ids, paging, params, views, webhooks
from server.stripe.errors import RESPONSES, StripeRoute
from server.stripe.intents import respond
from server.stripe.openapi import PAGING, query

router = APIRouter(route_class=StripeRoute, responses=RESPONSES, tags=["stripe"])
# A list reads the tenant's newest SCAN_MAX engine events (of the types asked for, when they
# can be named): the engine's EVENTS_LIMIT_MAX (docs/stripe.md). A payment's, when retrieved.
SCAN_MAX: Final = 1000
TYPES_MAX: Final = 20  # Stripe's limit on types[]
PAYOUT_EVENTS: Final = frozenset(EVENT_TYPES.values())  # about a payout, not a payment


def _stripe_events(events: list[Event]) -> Iterator[tuple[Event, str, int]]:
    """Every (engine event, Stripe type, n) of ``events``, in their order."""
    for ev in events:
        for n, kind in enumerate(webhooks.webhook_types(ev.type)):
            yield ev, kind, n


def _render(e: Engine, tenant_id: str, found: list[tuple[Event, str, int]]) -> list[dict[str, Any]]:
    subjects: dict[str, Payment | Payout] = {}
    rows = []
    for ev, kind, n in found:
        if ev.payment_id not in subjects:
            subjects[ev.payment_id] = (
                e.get_payout(tenant_id, ev.payment_id) if ev.type in PAYOUT_EVENTS
                else e.get_payment(tenant_id, ev.payment_id)
            )  # fmt: skip
        data = webhooks.data_object(e, kind, ev, subjects[ev.payment_id])
        rows.append(views.event(ev, data, kind, n))
    return rows


def _wanted(sent: dict[str, Any]) -> list[str] | None:
    """The types asked for (``type`` or ``types[]``; None: every type)."""
    one, many = params.text(sent, "type"), sent.get("types")
    if one is not None and many is not None:
        raise ValidationError("type and types exclude each other", "types")
    if many is None:
        return None if one is None else [one]
    many = [many] if isinstance(many, str) else many
    if not isinstance(many, list) or not all(isinstance(t, str) and t for t in many):
        raise ValidationError("types must be a list of event types", "types")
    if len(many) > TYPES_MAX:
        raise ValidationError(f"types holds at most {TYPES_MAX} event types", "types")
    return many


def _matches(kind: str, wanted: list[str] | None) -> bool:
    if wanted is None:
        return True
    return any(kind.startswith(w[:-1]) if w.endswith(".*") else kind == w for w in wanted)


def engine_types(wanted: list[str] | None) -> list[str] | None:
    """The engine's event types that are sent as one of the Stripe types ``wanted``, for
    the database to filter on; None when any may be (no filter, or ``mockpay.*``)."""
    if wanted is None or any(w.startswith("mockpay.") and w.endswith("*") for w in wanted):
        return None
    known = set(views.EVENT_TYPES) | set(webhooks.EXTRA_TYPES)
    found = {
        ours for ours in known if any(_matches(k, wanted) for k in webhooks.webhook_types(ours))
    }
    found |= {w.removeprefix("mockpay.") for w in wanted if w.startswith("mockpay.")}
    return sorted(found)


@router.get("/events/{event}", summary="Retrieve an Event")
async def event(event: str, t: Tenant_, c: Calls_) -> JSONResponse:
    payment_id, event_id, n = ids.decode_event(event)

    def read(e: Engine) -> dict[str, Any]:
        found = [
            row for row in _stripe_events(e.events(t.id, payment_id, SCAN_MAX))
            if row[0].id == event_id and row[2] == n
        ]  # fmt: skip
        if not found:
            raise NotFound("event", event)
        return _render(e, t.id, found)[0]

    return respond(await c.read(read), False)


@router.get("/events", summary="List Events, newest first",
            openapi_extra=query(*PAGING, "type"))  # fmt: skip
async def events(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    wanted = _wanted(sent)

    def read(e: Engine) -> list[dict[str, Any]]:
        newest = e.latest_events(t.id, SCAN_MAX, engine_types(wanted))
        found = [  # an engine event's Stripe events newest first too: its second, then first
            row for row in reversed(list(_stripe_events(list(reversed(newest)))))
            if _matches(row[1], wanted)
        ]  # fmt: skip
        return _render(e, t.id, found)

    return respond(paging.listing(await c.read(read), sent, "/v1/events"), False)
