"""A Stripe-shaped API at /v1 over the same engine, for the official Stripe SDKs.

Point an SDK here (``stripe.api_base = "http://127.0.0.1:3000"``) with a tenant's API key
as the secret key. Routes: ``intents`` (PaymentIntents), ``money`` (Charges, Refunds,
Disputes), ``events``, ``customers``, ``webhook_endpoints`` (their deliveries:
``webhooks``), ``balance`` (Balance, BalanceTransactions, Payouts). The wire format is
``forms`` (bracket-nested form bodies) in and ``views`` out; errors go through
``errors.STRIPE``; ids are ``ids``. docs/stripe.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mockpay_core.errors import NotFound
from server.errors import allowed_methods
from server.stripe import balance, customers, events, intents, money, webhook_endpoints
from server.stripe.errors import INVALID, StripeRoute

router = APIRouter(prefix="/v1")
for _part in (
    intents.router,
    money.router,
    events.router,
    webhook_endpoints.router,
    customers.router,
    balance.router,
):
    router.include_router(_part)

_unknown = APIRouter(route_class=StripeRoute)


@_unknown.api_route("/{path:path}", methods=["GET", "POST", "DELETE"], include_in_schema=False)
async def unknown(path: str, request: Request) -> Any:
    """Any other /v1 path: Stripe's 404 (an unrecognised request URL); a known path with
    another method: 405 and the methods it takes."""
    allow = allowed_methods(request.app, request.url.path)
    if allow:
        message = f"{request.method} is not allowed on {request.url.path}"
        error = {"type": INVALID, "code": "method_not_allowed", "message": message}
        return JSONResponse({"error": error}, 405, headers={"Allow": ", ".join(allow)})
    raise NotFound("route", f"{request.method} /v1/{path}")


router.include_router(_unknown)
__all__ = ["router"]
