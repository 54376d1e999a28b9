"""The dashboard at /dashboard: server-rendered pages over the engine, for a tenant (its own
data) and for the admin (everything). Sign in with a tenant's API key or the admin token;
every action is a POSTed form with a CSRF token. Templates and static files live beside
this package; nothing is fetched from elsewhere."""

from __future__ import annotations

import hmac
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from mockpay_core.errors import AuthenticationError, NotFound
from server.calls import EngineCalls
from server.dashboard import admin, payments, session, webhooks
from server.dashboard.forms import form, viewer
from server.dashboard.render import PREFIX, PageRoute, page, see_other

STATIC = Path(__file__).parent / "static"
router = APIRouter(route_class=PageRoute)


@router.get("")
async def home(request: Request) -> Response:
    s = session.current(request)
    return see_other("/payments" if s.signed_in else "/login")


@router.get("/login")
async def login_form(request: Request) -> Response:
    return page(request, "login.html", error=None)


async def _who(request: Request, key: str) -> session.Session:
    admin_token: str = request.app.state.admin_token
    if key and hmac.compare_digest(key.encode(), admin_token.encode()):
        return session.new_session(admin=True)
    calls: EngineCalls = request.app.state.calls
    tenant = await calls.read(lambda e: e.authenticate(key))
    return session.new_session(tenant_id=tenant.id)


@router.post("/login")
async def login(request: Request) -> Response:
    fields = await form(request, session.current(request))
    try:
        signed_in = await _who(request, fields.get("key", "").strip())
    except AuthenticationError:
        return page(request, "login.html", 401, error="That key is neither a tenant API key"
                    " nor the admin token")  # fmt: skip
    response = see_other("/payments")
    session.remember(request, response, signed_in)  # a new nonce: a new CSRF token
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await form(request, await viewer(request))
    response = see_other("/login")
    session.forget(response)
    return response


def not_found(request: Request, path: str) -> Response:
    raise NotFound("page", f"{PREFIX}/{path}")


for _module in (payments, webhooks, admin):
    router.include_router(_module.router)
router.add_api_route("/{path:path}", not_found, methods=["GET", "POST"])  # last: a 404 page


def install(app: FastAPI, signing_secret: str) -> None:
    """Mount the dashboard on ``app``; sessions are signed with a key from ``signing_secret``."""
    app.state.dashboard_key = session.signing_key(signing_secret)
    # The static files first: the catch-all 404 page would answer for them.
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="dashboard-static")
    app.include_router(router, prefix=PREFIX, include_in_schema=False)


__all__ = ["install"]
