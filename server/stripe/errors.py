"""The one place /v1 errors become Stripe's: ``{"error": {type, code, decline_code,
message, param, ...}}`` with Stripe's statuses, so that each SDK raises the class its
users catch (400 ``InvalidRequestError``, 401 ``AuthenticationError``, 402 ``CardError``,
400 ``idempotency_error`` ``IdempotencyError``, 429 ``RateLimitError``).

``STRIPE`` sits beside ``server.errors.STATUS`` and covers the same tree; the most
specific class of an error's MRO wins. ``StripeRoute`` applies it to every /v1 route,
the authentication dependency included.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from mockpay_core import errors
from server.ratelimit import RateLimited
from server.stripe.cards import Card

log = logging.getLogger("mockpay.server")
API_VERSION: Final = "2025-03-31.basil"
INVALID = "invalid_request_error"
UNEXPECTED = "An unexpected error occurred: it is logged, please retry"


@dataclass(frozen=True, slots=True)
class Kind:
    status: int
    type: str
    code: str | None = None


class CardDeclined(errors.MockPayError):
    """A confirm that the card (or fraud) declined: Stripe's 402 ``card_error``, carrying
    the PaymentIntent as it now is."""

    code = "card_declined"

    def __init__(self, card: Card, payment_intent: dict[str, Any]) -> None:
        super().__init__(card.message or "Your card was declined.")
        self.card, self.payment_intent = card, payment_intent


class Unsupported(errors.MockPayError):
    """A Stripe parameter this phase does not implement (docs/stripe-phase2.md)."""

    code = "parameter_unknown"

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message, details={"param": param})


STRIPE: Final[dict[type[errors.MockPayError], Kind]] = {
    errors.ValidationError: Kind(400, INVALID, "parameter_invalid"),
    errors.AuthenticationError: Kind(401, INVALID, "api_key_invalid"),
    errors.NotFound: Kind(404, INVALID, "resource_missing"),
    errors.Conflict: Kind(400, INVALID, "conflict"),
    errors.InvalidTransition: Kind(400, INVALID, "payment_intent_unexpected_state"),
    errors.AmountExceeded: Kind(400, INVALID, "amount_too_large"),
    errors.BalanceInsufficient: Kind(400, INVALID, "balance_insufficient"),
    errors.AuthorizationExpired: Kind(400, INVALID, "charge_expired_for_capture"),
    errors.IdempotencyKeyReused: Kind(400, "idempotency_error", "idempotency_key_in_use"),
    errors.IdempotencyKeyInUse: Kind(409, "idempotency_error", "idempotency_key_in_use"),
    errors.StorageError: Kind(503, "api_error", "lock_timeout"),
    RateLimited: Kind(429, INVALID, "rate_limit"),
    CardDeclined: Kind(402, "card_error", "card_declined"),
    Unsupported: Kind(400, INVALID, "parameter_unknown"),
}
_UNEXPECTED = Kind(500, "api_error", None)


class StripeError(BaseModel):
    type: str
    code: str | None = None
    decline_code: str | None = None
    message: str
    param: str | None = None
    doc_url: str | None = None


class StripeErrorBody(BaseModel):
    """Every /v1 error, in Stripe's envelope."""

    error: StripeError


RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": StripeErrorBody, "description": text}
    for status, text in {
        400: "invalid_request_error (or idempotency_error: a key reused with other parameters)",
        401: "API key missing or unknown",
        402: "card_error: a test card declined",
        404: "resource_missing (another tenant's id too)",
        409: "idempotency_error: a request with the same key still running",
        429: "Over the tenant's rate limit",
        503: "The database is busy: retry",
    }.items()
}


def kind_of(exc: errors.MockPayError) -> Kind:
    for cls in type(exc).__mro__:
        if cls in STRIPE:
            return STRIPE[cls]
    return _UNEXPECTED


def _param(exc: errors.MockPayError) -> str | None:
    if isinstance(exc, errors.ValidationError) and exc.errors:
        return exc.errors[0][0]
    if isinstance(exc, errors.NotFound):
        return "id" if exc.resource != "payment_method" else "payment_method"
    param = exc.details.get("param")
    return param if isinstance(param, str) else None


def _message(exc: errors.MockPayError) -> str:
    if isinstance(exc, errors.NotFound):
        return f"No such {exc.resource}: '{exc.details['id']}'"
    if isinstance(exc, errors.IdempotencyKeyReused):
        return (
            "Keys for idempotent requests can only be used with the same parameters they"
            " were first used with. " + exc.message
        )
    return exc.message


def error_response(exc: errors.MockPayError) -> JSONResponse:
    kind = kind_of(exc)
    if kind.status == 500:
        log.error("unexpected /v1 error: %s", exc.message)
    error: dict[str, Any] = {
        "type": kind.type, "code": kind.code, "message": _message(exc), "param": _param(exc),
        "doc_url": f"https://docs.stripe.com/error-codes/{kind.code}" if kind.code else None,
    }  # fmt: skip
    if isinstance(exc, CardDeclined):
        error.update({
            "code": exc.card.code, "decline_code": exc.card.decline_code,
            "payment_intent": exc.payment_intent, "param": None,
        })  # fmt: skip
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers = {**exc.decision.headers(), "Retry-After": str(exc.decision.reset_s)}
    elif kind.status in (409, 503):
        headers["Retry-After"] = "1"
    if exc.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse({"error": error}, kind.status, headers=headers)


def _stripe_headers(request: Request, response: Response) -> Response:
    response.headers["Stripe-Version"] = request.headers.get("stripe-version") or API_VERSION
    return response


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class StripeRoute(APIRoute):
    """A /v1 route: every error in Stripe's envelope, ``Stripe-Version`` echoed."""

    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handle(request)
            except errors.MockPayError as exc:
                response = error_response(exc)
            except RequestValidationError as exc:
                problems = [
                    (".".join(map(str, e["loc"][1:])) or "body", e["msg"]) for e in exc.errors()
                ]
                response = error_response(errors.ValidationError(problems))
            except Exception:  # a bug, not the client's fault: logged, never a traceback out
                log.exception("unhandled /v1 error")
                error = {"type": "api_error", "code": None, "message": UNEXPECTED}
                response = JSONResponse({"error": error}, 500)
            return _stripe_headers(request, response)

        return route
