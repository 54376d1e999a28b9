"""The one place errors become HTTP: ``{"error": message, "code": stable_code}``.

Old clients read ``error`` (the original's field and, where the original had one, its
wording); new ones switch on ``code``. Nothing reaches a client as a stack trace: an
unexpected exception is a 500 with the original's message, and is logged.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from mockpay_core import errors
from server.ratelimit import RateLimited

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
    errors.BatchLost: 503,  # nothing committed; the writer runs its commands again alone
    errors.StorageUnavailable: 503,
}
UNEXPECTED = "Something went wrong. Please try again."


class Forbidden(errors.MockPayError):
    code = "forbidden"


class IdempotencyKeyMissing(errors.MockPayError):
    code = "idempotency_key_required"


class ClockNotSimulated(errors.MockPayError):
    code = "clock_not_simulated"


class CsrfRejected(errors.MockPayError):
    """A dashboard form without its session's CSRF token."""

    code = "csrf_rejected"


STATUS.update({
    Forbidden: 403, IdempotencyKeyMissing: 400, ClockNotSimulated: 409, RateLimited: 429,
    CsrfRejected: 403,
})  # fmt: skip


class ErrorBody(BaseModel):
    """Every error: ``error`` (a message; the original's field) and ``code`` (stable)."""

    error: str
    code: str
    details: dict[str, Any] | None = None


_WHEN = {
    400: "Bad input: every bad field is named",
    401: "API key (or admin token) missing or unknown",
    403: "A tenant's key on an admin route",
    404: "Unknown id (another tenant's is unknown too), or unknown route",
    409: "Conflict: the same idempotency key still running, or a clash of state",
    413: "Request body too large",
    429: "Over the tenant's rate limit: see Retry-After and RateLimit-*",
    422: "Idempotency-Key reused with a different request",
    503: "The database is busy: retry after Retry-After",
    500: "Unexpected failure (never for bad input)",
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _WHEN.items()
}


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
    if isinstance(exc, RateLimited):
        headers = {**exc.decision.headers(), "Retry-After": str(exc.decision.reset_s)}
    if exc.replayed:
        headers = {**(headers or {}), "Idempotent-Replayed": "true"}
    return JSONResponse(body(exc.message, exc.code, exc.details), status, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


@functools.cache
def _path_methods(app: FastAPI) -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    found = []
    for path, operations in app.openapi()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$")
        found.append((pattern, tuple(sorted(m.upper() for m in operations))))
    return tuple(found)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the documented routes take on ``path`` (Starlette names only one)."""
    return sorted(
        {m for pattern, methods in _path_methods(app) if pattern.match(path) for m in methods}
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.MockPayError)
    async def engine_error(_: Request, exc: errors.MockPayError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors():
            loc = tuple(e["loc"])
            whole_body = loc == ("body",) and (
                e["type"].endswith("_type") or e["type"] == "missing"
            )
            if e["type"] == "json_invalid" or whole_body:
                message = "Request body must be a JSON object (Content-Type: application/json)"
                return JSONResponse(body(message, "invalid_json"), 400)
            problems.append((_field(loc), str(e["msg"])))
        return error_response(errors.ValidationError(problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"Route {request.method} {request.url.path} not found"
            return JSONResponse(body(message, "route_not_found"), 404)
        if exc.status_code == 405:  # the path exists: the Allow header says which methods
            message = f"Route {request.method} {request.url.path} not found"
            allow = {"Allow": ", ".join(allowed_methods(app, request.url.path))}
            return JSONResponse(body(message, "method_not_allowed"), 405, headers=allow)
        return JSONResponse(
            body(str(exc.detail), "http_error"), exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(body(UNEXPECTED, "internal_error"), 500)
