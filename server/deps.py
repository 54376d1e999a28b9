"""Request dependencies: the engine, the authenticated tenant, the admin check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

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


async def tenant(request: Request, authorization: Annotated[str | None, Header()] = None) -> Tenant:
    key = bearer_key(authorization)
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
    request.state.ratelimit = request.app.state.ratelimiter.check(found.id, found.rate_limit_tier)
    return found


def admin(
    request: Request,
    eng: Annotated[Engine, Depends(engine)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    key = bearer_key(authorization)
    token: str = request.app.state.admin_token
    if key and hmac.compare_digest(key.encode(), token.encode()):
        return
    if key is None:
        raise AuthenticationError("Admin token missing")
    try:
        eng.authenticate(key)
    except AuthenticationError:
        raise AuthenticationError("Invalid admin token") from None
    raise Forbidden("Admin routes need the admin token, not a tenant's API key")


Engine_ = Annotated[Engine, Depends(engine)]
Calls_ = Annotated[EngineCalls, Depends(calls)]
Tenant_ = Annotated[Tenant, Depends(tenant)]
Admin_ = Annotated[None, Depends(admin)]
