"""/v1/payment_intents: create (``confirm=true``), retrieve, update, confirm, capture,
cancel, list. Each Stripe request runs one or more engine commands; their idempotency keys
come from the request's (``params.idempotency_key``), so a replay replays every step."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Collection
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mockpay_core import Engine, Outcome, Payment
from mockpay_core.domain.model import Customer
from mockpay_core.domain.states import Status
from mockpay_core.errors import InvalidTransition, NotFound, ValidationError
from server.calls import EngineCalls
from server.deps import Calls_, Tenant_
from server.stripe import cards, ids, paging, params, radar, views
from server.stripe.errors import RESPONSES, CardDeclined, StripeRoute, Unsupported
from server.stripe.openapi import PAGING, form, query

router = APIRouter(route_class=StripeRoute, responses=RESPONSES, tags=["stripe"])
SINK_PATH = "/v1/mockpay/webhook_sink"
UPDATABLE = frozenset({"metadata", "description", "payment_method", "expand"})
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")


async def with_customers(
    c: EngineCalls, tenant_id: str, bodies: list[dict[str, Any]], expand: Collection[str]
) -> list[dict[str, Any]]:
    """``expand[]=customer``: each object's Customer in place of its ``cus_`` id (one read
    per customer; a free-text customer, or one deleted since, stays as it is)."""
    if "customer" not in expand:
        return bodies
    found: dict[str, Any] = {}
    for body in bodies:
        sent = body["customer"]
        ours = views.customer_of_id(sent)
        if ours is None:
            continue
        if sent not in found:
            found[sent] = sent
            with contextlib.suppress(NotFound):
                customer = await c.read(functools.partial(_customer, tenant_id, ours))
                found[sent] = views.customer(customer)
        body["customer"] = found[sent]
    return bodies


def _customer(tenant_id: str, customer_id: str, e: Engine) -> Customer:
    return e.get_customer(tenant_id, customer_id)


async def shown(
    c: EngineCalls, tenant_id: str, p: Payment, expand: Collection[str]
) -> dict[str, Any]:
    """The PaymentIntent as ``expand`` asks (``latest_charge``, ``customer``)."""
    return (await with_customers(c, tenant_id, [views.payment_intent(p, expand)], expand))[0]


def respond(body: dict[str, Any], replayed: bool, status: int = 200) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(body, status, headers=headers)


def _sink(request: Request) -> str:
    """Phase 1 has no webhook endpoints: the engine's events go to this server's own sink
    (docs/stripe-phase2.md replaces it with the tenant's WebhookEndpoints)."""
    return str(request.base_url).rstrip("/") + SINK_PATH


@router.post("/payment_intents", summary="Create a PaymentIntent", openapi_extra=form(
    "amount", "currency", "capture_method", "confirm", "payment_method", "customer",
    "description", "metadata", "expand", required=("amount", "currency")))  # fmt: skip
async def create(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    amount = params.integer(sent, "amount", required=True)
    currency = params.text(sent, "currency", required=True)
    confirm, expand = params.boolean(sent, "confirm"), params.expand(sent)
    card = cards.from_params(sent)
    customer = params.text(sent, "customer")
    known = views.customer_of_id(customer)
    if known is not None:  # one of ours must exist: Stripe's 404 otherwise
        try:
            await c.read(lambda e: e.get_customer(t.id, known))
        except NotFound:
            raise NotFound("customer", str(customer)) from None
    if card is not None and card.kind is cards.Kind.BLOCK:
        await radar.ensure_rule(request)
        customer = radar.CUSTOMER
    assert amount is not None and currency is not None
    key = params.idempotency_key(request)
    run = c.engine.prepare_create_payment(
        t.id, amount=params.major(amount, currency), currency=currency,
        webhook_url=_sink(request), idempotency_key=key,
        capture_method=params.text(sent, "capture_method") or "automatic",
        customer=customer, description=params.text(sent, "description"),
        metadata=params.metadata(sent), payment_method=card.name if card else None,
        request_extra={"stripe": params.fingerprint(sent)},
    )  # fmt: skip
    out = await c.write(lambda _: run(), t.id)
    p, replayed = out.value, out.replayed
    if confirm:
        p, replayed = await _confirm(c, t.id, p, card, params.step_key(key, "confirm"), replayed)
    return respond(await shown(c, t.id, p, expand), replayed)


async def _confirm(
    c: EngineCalls,
    tenant_id: str,
    p: Payment,
    card: cards.Card | None,
    key: str,
    replayed: bool = False,
) -> tuple[Payment, bool]:
    """Play the card's outcome on a pending payment: success (or an authorization), a
    decline (402, the intent in requires_payment_method), or success and a dispute.
    ``replayed``: the payment itself came from a replay (a create's)."""
    if card is None:
        raise InvalidTransition(p.status.value, "confirm", (
            "You cannot confirm this PaymentIntent because it's missing a payment method."
            " To confirm it, pass payment_method."))  # fmt: skip
    if p.status is Status.FLAGGED:  # held for review: processing, as Radar's reviews are
        return p, replayed
    if p.status is Status.FAILED and p.failure_code == "fraud_blocked":
        blocked = CardDeclined(views.decline_of(p) or card, views.payment_intent(p))
        blocked.replayed = replayed
        raise blocked
    declines = card.kind in (cards.Kind.DECLINE, cards.Kind.BLOCK)
    failure = card.engine_failure_code if card.kind is cards.Kind.DECLINE else "card_declined"
    out: Outcome[Payment] = await c.write(
        lambda e: e.simulate(
            tenant_id, p.id, "failed" if declines else "success",
            failure_code=failure if declines else None, idempotency_key=key,
        ), tenant_id,
    )  # fmt: skip
    p = out.value
    if p.status is Status.FAILED:
        exc = CardDeclined(card, views.payment_intent(p))
        exc.replayed = out.replayed
        raise exc
    return await _maybe_dispute(c, tenant_id, p, card, key), out.replayed


async def _maybe_dispute(
    c: EngineCalls, tenant_id: str, p: Payment, card: cards.Card | None, key: str
) -> Payment:
    """``pm_card_createDispute``: once captured, the cardholder disputes the whole charge."""
    if card is None or card.kind is not cards.Kind.DISPUTE or p.status is not Status.SUCCESS:
        return p
    out = await c.write(
        lambda e: e.open_dispute(
            tenant_id, p.id, reason="fraudulent", idempotency_key=params.step_key(key, "dispute")
        ), tenant_id,
    )  # fmt: skip
    return out.value.payment


async def _payment(c: EngineCalls, tenant_id: str, stripe_id: str) -> Payment:
    payment_id = ids.decode("payment_intent", stripe_id)[0]
    return await c.read(lambda e: e.get_payment(tenant_id, payment_id))


@router.get("/payment_intents/{intent}", summary="Retrieve a PaymentIntent")
async def retrieve(intent: str, request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    expand = params.expand(await params.of(request))
    return respond(await shown(c, t.id, await _payment(c, t.id, intent), expand), False)


@router.post("/payment_intents/{intent}", summary="Update a PaymentIntent",
             openapi_extra=form("metadata", "description", "payment_method", "expand"))  # fmt: skip
async def update(intent: str, request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    """Metadata (merged in; a key sent empty is removed, ``metadata=""`` removes all),
    description ("" removes it) and, before confirm or after a decline, the payment
    method; any other field is refused, not ignored."""
    sent = await params.of(request)
    payment_id = ids.decode("payment_intent", intent)[0]
    other = sorted(name for name in sent if name not in UPDATABLE)
    if other:
        raise Unsupported(
            f"Updating {other[0]} is not supported: only metadata, description and"
            " payment_method change",
            other[0],
        )  # fmt: skip
    meta, card = sent.get("metadata"), cards.from_params(sent)
    key = params.idempotency_key(request)
    out = await c.write(
        lambda e: e.update_payment(
            t.id, payment_id, metadata=params.metadata(sent), clear_metadata=meta == "",
            description=sent.get("description"), idempotency_key=key,
            payment_method=card.name if card else None,
        ), t.id,
    )  # fmt: skip
    return respond(await shown(c, t.id, out.value, params.expand(sent)), out.replayed)


@router.post("/payment_intents/{intent}/confirm", summary="Confirm a PaymentIntent",
             openapi_extra=form("payment_method", "expand"))  # fmt: skip
async def confirm(intent: str, request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    p = await _payment(c, t.id, intent)
    key = params.idempotency_key(request)
    card = cards.from_params(sent)
    changed = card is not None and card.name != p.payment_method and p.status is Status.PENDING
    if card is not None and (changed or views.retryable(p)):
        out = await c.write(
            lambda e: e.update_payment(
                t.id, p.id, payment_method=card.name,
                idempotency_key=params.step_key(key, "payment_method"),
            ), t.id,
        )  # fmt: skip
        p = out.value
    # A declined card is detached; a fraud block (decided at create) answers its 402 again.
    held = None if views.retryable(p) else views.card_of(p)
    p, replayed = await _confirm(c, t.id, p, card or held, key)
    return respond(await shown(c, t.id, p, params.expand(sent)), replayed)


@router.post("/payment_intents/{intent}/capture", summary="Capture a PaymentIntent",
             openapi_extra=form("amount_to_capture", "expand"))  # fmt: skip
async def capture(intent: str, request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    p = await _payment(c, t.id, intent)
    amount = params.integer(sent, "amount_to_capture")
    to_capture = None if amount is None else params.major(amount, p.currency, "amount_to_capture")
    key = params.idempotency_key(request)
    out = await c.write(
        lambda e: e.capture(t.id, p.id, amount=to_capture, idempotency_key=key), t.id
    )
    p = await _maybe_dispute(c, t.id, out.value, views.card_of(out.value), key)
    return respond(await shown(c, t.id, p, params.expand(sent)), out.replayed)


@router.post("/payment_intents/{intent}/cancel", summary="Cancel a PaymentIntent",
             openapi_extra=form("cancellation_reason", "expand"))  # fmt: skip
async def cancel(intent: str, request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    payment_id = ids.decode("payment_intent", intent)[0]
    reason = params.text(sent, "cancellation_reason")
    if reason is not None and reason not in CANCELLATION_REASONS:
        raise ValidationError(
            f"Invalid cancellation_reason: must be one of {', '.join(CANCELLATION_REASONS)}",
            "cancellation_reason",
        )
    key = params.idempotency_key(request)
    out = await c.write(
        lambda e: e.cancel(t.id, payment_id, cancellation_reason=reason, idempotency_key=key),
        t.id,
    )
    return respond(await shown(c, t.id, out.value, params.expand(sent)), out.replayed)


@router.get("/payment_intents", summary="List PaymentIntents, newest first",
            openapi_extra=query(*PAGING, "customer"))  # fmt: skip
async def list_intents(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    n, after, before = (
        params.limit(sent),
        params.text(sent, "starting_after"),
        params.text(sent, "ending_before"),
    )
    created, keep = paging.Created.of(sent), paging.of_customer(params.text(sent, "customer"))
    rows, more = await c.read(lambda e: paging.payments(e, t.id, n, after, before, keep, created))
    expand = paging.data_expand(sent)
    data = await with_customers(c, t.id, [views.payment_intent(p, expand) for p in rows], expand)
    return respond(views.page(data, more, "/v1/payment_intents"), False)


@router.post(SINK_PATH.removeprefix("/v1"), include_in_schema=False)
async def webhook_sink() -> JSONResponse:
    """Where phase 1 sends the engine's webhooks for Stripe-made payments: accepted, dropped."""
    return JSONResponse({"received": True})
