"""Request dependencies: the engine, the authenticated tenant, the admin check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBearer

from mockpay_core import Engine, Tenant
from mockpay_core.errors import AuthenticationError
from server.calls import EngineCalls
from server.errors import Forbidden
from server.keycache import KeyCache

BEARER = "bearer "


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
