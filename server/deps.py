"""Request dependencies: the engine, the authenticated tenant, the admin check; and the
JSON body as FastAPI reads it, for the create route, which reads its own request."""

from __future__ import annotations

import email.message
import hmac
import json
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPBearer

from mockpay_core import Engine, Tenant
from mockpay_core.errors import AuthenticationError
from server.calls import EngineCalls
from server.errors import Forbidden
from server.keycache import KeyCache

BEARER = "bearer "
_NOT_JSON: Final = object()


# The trivial dependencies are async: a sync one is a hop to the thread pool per request.
async def engine(request: Request) -> Engine:
    found: Engine = request.app.state.engine
    return found


async def calls(request: Request) -> EngineCalls:
    found: EngineCalls = request.app.state.calls
    return found


def bearer_key(authorization: str | None) -> str | None:
    if not authorization:
        return None
    if not authorization.lower().startswith(BEARER):
        return ""
    return authorization[len(BEARER) :].strip()


class _Bearer(HTTPBearer):
    """A bearer scheme in the OpenAPI spec, so that /docs offers its Authorize button (an
    ``Authorization`` header parameter is one that OpenAPI says to ignore). The instance is
    the dependency itself: it reads the header in MockPay's words (401 for a missing or
    wrong key), with no extra header parameter for FastAPI to parse on every request."""

    def __init__(self, scheme_name: str, description: str) -> None:
        super().__init__(scheme_name=scheme_name, description=description, auto_error=False)


class TenantKey(_Bearer):
    async def __call__(self, request: Request) -> Tenant:  # type: ignore[override]
        key = bearer_key(request.headers.get("authorization"))
        if key is None:
            raise AuthenticationError("API key missing")
        cache: KeyCache = request.app.state.keys
        found = cache.get(key)
        if found is None:
            engine_calls: EngineCalls = request.app.state.calls
            found = await engine_calls.read(lambda e: e.authenticate(key))
            cache.put(key, found)
        request.state.tenant_id = found.id
        request.state.api_key = key
        request.state.ratelimit = request.app.state.ratelimiter.check(
            found.id, found.rate_limit_tier
        )
        return found


class AdminToken(_Bearer):
    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        key = bearer_key(request.headers.get("authorization"))
        token: str = request.app.state.admin_token
        if key and hmac.compare_digest(key.encode(), token.encode()):
            return
        if key is None:
            raise AuthenticationError("Admin token missing")
        eng: Engine = request.app.state.engine
        try:
            await run_in_threadpool(eng.authenticate, key)
        except AuthenticationError:
            raise AuthenticationError("Invalid admin token") from None
        raise Forbidden("Admin routes need the admin token, not a tenant's API key")


tenant = TenantKey("ApiKey", "A tenant's API key (POST /api/auth/register returns it).")
admin = AdminToken(
    "AdminToken", "The admin token: MOCKPAY_ADMIN_TOKEN, or the one printed at start-up."
)

Engine_ = Annotated[Engine, Depends(engine)]
Calls_ = Annotated[EngineCalls, Depends(calls)]
Tenant_ = Annotated[Tenant, Depends(tenant)]
Admin_ = Annotated[None, Depends(admin)]


async def json_object(request: Request) -> object:
    """The body as FastAPI reads a JSON body before a route's dependencies run: parsed when
    its Content-Type is JSON, a syntax error raised now (400 ``invalid_json``); anything
    else (no body, another Content-Type) comes back as not JSON, for ``object_fields``."""
    raw = await request.body()
    content_type = request.headers.get("content-type")
    if not raw or not content_type or not _is_json(content_type):
        return _NOT_JSON
    try:
        return json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise _invalid_json() from exc


def object_fields(sent: object, names: tuple[str, ...]) -> dict[str, Any]:
    """``names`` from a JSON object (None where absent, the rest ignored), as a model of
    optional fields with ``extra="ignore"`` gives them; 400 ``invalid_json`` for anything
    but an object."""
    if not isinstance(sent, dict):
        raise _invalid_json()
    return {name: sent.get(name) for name in names}


def _is_json(content_type: str) -> bool:
    if content_type == "application/json":
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _invalid_json() -> RequestValidationError:
    return RequestValidationError(
        [{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error", "input": {}}]
    )
