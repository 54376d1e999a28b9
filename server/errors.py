"""The one place errors become HTTP: ``{"error": message, "code": stable_code}``.

Old clients read ``error`` (the original's field and, where the original had one, its
wording); new ones switch on ``code``. Nothing reaches a client as a stack trace: an
unexpected exception is a 500 with the original's message, and is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mockpay_core import errors

log = logging.getLogger("mockpay.server")

STATUS: dict[type[errors.MockPayError], int] = {
    errors.ValidationError: 400,
    errors.AuthenticationError: 401,
    errors.NotFound: 404,
    errors.EmailTaken: 409,
    errors.InvalidTransition: 400,  # the original's status for a refused transition
    errors.AmountExceeded: 400,
    errors.AuthorizationExpired: 400,
    errors.DeliveryNotDead: 400,
    errors.IdempotencyKeyReused: 422,  # IETF draft: same key, different request
    errors.IdempotencyKeyInUse: 409,
    errors.Conflict: 409,
    errors.StorageBusy: 503,
}
UNEXPECTED = "Something went wrong. Please try again."


class Forbidden(errors.MockPayError):
    code = "forbidden"


class IdempotencyKeyMissing(errors.MockPayError):
    code = "idempotency_key_required"


class ClockNotSimulated(errors.MockPayError):
    code = "clock_not_simulated"


STATUS.update({Forbidden: 403, IdempotencyKeyMissing: 400, ClockNotSimulated: 409})


def status_of(exc: errors.MockPayError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def body(message: str, code: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": message, "code": code, **({"details": details} if details else {})}


def error_response(exc: errors.MockPayError) -> JSONResponse:
    status = status_of(exc)
    if status == 500:
        log.error("storage failure: %s", exc.message)
        return JSONResponse(body(UNEXPECTED, exc.code), status_code=500)
    headers = {"Retry-After": "1"} if status == 503 else None
    if exc.replayed:
        headers = {**(headers or {}), "Idempotent-Replayed": "true"}
    return JSONResponse(body(exc.message, exc.code, exc.details), status, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.MockPayError)
    async def engine_error(_: Request, exc: errors.MockPayError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors():
            loc = tuple(e["loc"])
            if e["type"] == "json_invalid" or (loc == ("body",) and e["type"].endswith("_type")):
                message = "Request body must be a JSON object (Content-Type: application/json)"
                return JSONResponse(body(message, "invalid_json"), 400)
            problems.append((_field(loc), str(e["msg"])))
        return error_response(errors.ValidationError(problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"Route {request.method} {request.url.path} not found"
            return JSONResponse(body(message, "route_not_found"), 404)
        if exc.status_code == 405:
            message = f"Route {request.method} {request.url.path} not found"
            return JSONResponse(body(message, "method_not_allowed"), 405)
        return JSONResponse(body(str(exc.detail), "http_error"), exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(body(UNEXPECTED, "internal_error"), 500)
