"""/v1/charges (read-only views of a payment's one charge), /v1/refunds, /v1/disputes.

A tenant-wide list of refunds or disputes reads the payments its newest refund or dispute
events name (``EVENTS_SCAN_MAX`` of them): the engine keeps refunds and disputes per payment.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mockpay_core import Engine, Payment
from mockpay_core.errors import NotFound, ValidationError
from server.deps import Calls_, Tenant_
from server.stripe import ids, paging, params, statuses, views
from server.stripe.errors import RESPONSES, StripeRoute
from server.stripe.intents import respond, with_customers
from server.stripe.openapi import PAGING, form, query

router = APIRouter(route_class=StripeRoute, responses=RESPONSES, tags=["stripe"])
EVENTS_SCAN_MAX: Final = 1000


def _charged(e: Engine, tenant_id: str, payment_id: str, stripe_id: str) -> Payment:
    p = e.get_payment(tenant_id, payment_id)
    if p.status not in statuses.CHARGED:
        raise NotFound("charge", stripe_id)
    return p


def _target(sent: dict[str, Any]) -> str:
    """The payment a refund names, by ``payment_intent`` or by ``charge``."""
    pi, ch = params.text(sent, "payment_intent"), params.text(sent, "charge")
    if pi is None and ch is None:
        raise ValidationError("One of payment_intent or charge is required.", "payment_intent")
    return ids.decode("payment_intent", pi)[0] if pi else ids.decode("charge", ch or "")[0]


def _payments_with(e: Engine, tenant_id: str, event_types: tuple[str, ...]) -> list[str]:
    """Payments the tenant's newest ``EVENTS_SCAN_MAX`` events of ``event_types`` name,
    newest first."""
    seen: dict[str, None] = {}
    for ev in e.latest_events(tenant_id, EVENTS_SCAN_MAX, event_types):
        seen.setdefault(ev.payment_id)
    return list(seen)


@router.get("/charges/{charge}", summary="Retrieve a Charge")
async def charge(charge: str, request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    expand = params.expand(await params.of(request))
    payment_id = ids.decode("charge", charge)[0]
    p = await c.read(lambda e: _charged(e, t.id, payment_id, charge))
    (body,) = await with_customers(c, t.id, [views.charge_view(p, expand)], expand)
    return respond(body, False)


@router.get("/charges", summary="List Charges, newest first",
            openapi_extra=query(*PAGING, "payment_intent", "customer"))  # fmt: skip
async def charges(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    pi, expand = params.text(sent, "payment_intent"), paging.data_expand(sent)
    if pi is not None:
        payment_id = ids.decode("payment_intent", pi)[0]
        p = await c.read(lambda e: e.get_payment(t.id, payment_id))
        rows = [views.charge_view(p, expand)] if p.status in statuses.CHARGED else []
        rows = await with_customers(c, t.id, rows, expand)
        return respond(views.page(rows, False, "/v1/charges"), False)
    n, created = params.limit(sent), paging.Created.of(sent)
    after, before = (_as_intent(params.text(sent, k)) for k in ("starting_after", "ending_before"))
    customer = paging.of_customer(params.text(sent, "customer"))

    def keep(p: Payment) -> bool:
        return paging.charged(p) and (customer is None or customer(p))

    page, more = await c.read(lambda e: paging.payments(e, t.id, n, after, before, keep, created))
    rows = await with_customers(c, t.id, [views.charge_view(p, expand) for p in page], expand)
    return respond(views.page(rows, more, "/v1/charges"), False)


def _as_intent(charge: str | None) -> str | None:
    """A charge's id as its PaymentIntent's, which the payments' pages are keyed by."""
    return ids.encode("payment_intent", ids.decode("charge", charge)[0]) if charge else None


_REFUND_FORM = form("payment_intent", "charge", "amount", "reason", "expand")


@router.post("/refunds", summary="Refund a PaymentIntent's charge", openapi_extra=_REFUND_FORM)
async def create_refund(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    payment_id = _target(sent)
    p = await c.read(lambda e: e.get_payment(t.id, payment_id))
    amount = params.integer(sent, "amount")
    refundable = p.captured_minor - p.returned_minor
    major = params.major(amount if amount is not None else max(refundable, 1), p.currency)
    key, reason = params.idempotency_key(request), params.text(sent, "reason")
    out = await c.write(
        lambda e: e.refund(t.id, payment_id, major, reason=reason, idempotency_key=key), t.id
    )
    body = views.refund(out.value.refund, out.value.payment, params.expand(sent))
    return respond(body, out.replayed)


@router.get("/refunds/{refund}", summary="Retrieve a Refund")
async def refund(refund: str, request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    expand = params.expand(await params.of(request))
    payment_id, refund_id = ids.decode("refund", refund)

    def read(e: Engine) -> dict[str, Any]:
        p = e.get_payment(t.id, payment_id)
        for r in e.refunds(t.id, payment_id):
            if r.id == refund_id:
                return views.refund(r, p, expand)
        raise NotFound("refund", refund)

    return respond(await c.read(read), False)


@router.get("/refunds", summary="List Refunds, newest first",
            openapi_extra=query(*PAGING, "payment_intent", "charge"))  # fmt: skip
async def refunds(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    pi, ch = params.text(sent, "payment_intent"), params.text(sent, "charge")
    expand = paging.data_expand(sent)

    def read(e: Engine) -> list[dict[str, Any]]:
        wanted = [_target(sent)] if pi or ch else _payments_with(e, t.id, ("payment.refunded",))
        rows = []
        for payment_id in wanted:
            p = e.get_payment(t.id, payment_id)
            rows += [views.refund(r, p, expand) for r in e.refunds(t.id, payment_id)]
        return paging.newest_first(rows)

    return respond(paging.listing(await c.read(read), sent, "/v1/refunds"), False)


def _dispute(e: Engine, tenant_id: str, stripe_id: str) -> tuple[Any, Payment]:
    payment_id, dispute_id = ids.decode("dispute", stripe_id)
    p = e.get_payment(tenant_id, payment_id)
    for d in e.disputes(tenant_id, payment_id):
        if d.id == dispute_id:
            return d, p
    raise NotFound("dispute", stripe_id)


@router.get("/disputes/{dispute}", summary="Retrieve a Dispute")
async def dispute(dispute: str, request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    expand = params.expand(await params.of(request))
    d, p = await c.read(lambda e: _dispute(e, t.id, dispute))
    return respond(views.dispute(d, p, expand), False)


@router.get("/disputes", summary="List Disputes, newest first",
            openapi_extra=query(*PAGING, "payment_intent", "charge"))  # fmt: skip
async def disputes(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    pi, ch = params.text(sent, "payment_intent"), params.text(sent, "charge")
    expand = paging.data_expand(sent)

    def read(e: Engine) -> list[dict[str, Any]]:
        wanted = [_target(sent)] if pi or ch else _payments_with(e, t.id, ("dispute.created",))
        rows = []
        for payment_id in wanted:
            p = e.get_payment(t.id, payment_id)
            rows += [views.dispute(d, p, expand) for d in e.disputes(t.id, payment_id)]
        return paging.newest_first(rows)

    return respond(paging.listing(await c.read(read), sent, "/v1/disputes"), False)


@router.post("/disputes/{dispute}/close", summary="Close a Dispute: accept it as lost",
             openapi_extra=form("expand"))  # fmt: skip
async def close_dispute(dispute: str, request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    _, p = await c.read(lambda e: _dispute(e, t.id, dispute))
    key = params.idempotency_key(request)
    out = await c.write(lambda e: e.resolve_dispute(t.id, p.id, "lost", idempotency_key=key), t.id)
    body = views.dispute(out.value.dispute, out.value.payment, params.expand(sent))
    return respond(body, out.replayed)
