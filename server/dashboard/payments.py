"""/dashboard/payments: the list (the API's filters, text search, cursor pages), one
payment's page (timeline, money, fraud, events and every attempt) and its buttons."""

from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from mockpay_core import Engine, Status
from mockpay_core.domain.money import CURRENCY_EXPONENTS
from mockpay_core.errors import MockPayError, NotFound, ValidationError
from server.calls import EngineCalls
from server.dashboard import actions, live, timeline
from server.dashboard.forms import amount, blank_none, form, viewer
from server.dashboard.render import PageRoute, fragment, page, see_other
from server.dashboard.session import Session
from server.errors import status_of

router = APIRouter(route_class=PageRoute)
PAGE_ROWS = 25
# A filtered page looks at no more than this many payments (a bounded scan however few
# match: bench/dashboard.py); the next page looks further.
SCAN_ROWS = 20_000
EVENTS_MAX = 100
Viewer = Annotated[Session, Depends(viewer)]
Text = Annotated[str | None, Query(max_length=600)]


async def tenant_scope(
    request: Request, s: Session, wanted: str | None
) -> tuple[str | None, list[Any]]:
    """The tenant whose rows a page shows: the viewer's own, or for the admin the one
    picked (the first registered by default), with every tenant to pick from."""
    if s.tenant_id is not None:
        return s.tenant_id, []
    calls: EngineCalls = request.app.state.calls
    tenants = await calls.read(lambda e: e.list_tenants())
    if wanted and wanted not in {t.id for t in tenants}:
        raise NotFound("tenant", wanted)
    return (wanted or (tenants[0].id if tenants else None)), tenants


@router.get("/payments")
async def listing(
    request: Request, s: Viewer, status: Text = None, currency: Text = None,
    q: Text = None, cursor: Text = None, tenant: Text = None,
) -> Response:  # fmt: skip
    tenant_id, tenants = await tenant_scope(request, s, blank_none(tenant))
    filters = {"status": blank_none(status), "currency": blank_none(currency),
               "search": blank_none(q)}  # fmt: skip
    found = None
    scan = SCAN_ROWS if any(filters.values()) else None
    if tenant_id is not None:
        calls: EngineCalls = request.app.state.calls
        found = await calls.read(lambda e: e.list_payments(
            tenant_id, limit=PAGE_ROWS, cursor=blank_none(cursor), scan_rows=scan, **filters
        ))  # fmt: skip
    return page(
        request, "payments.html", found=found, tenant_id=tenant_id, tenants=tenants,
        short=found is not None and found.has_more and len(found.data) < PAGE_ROWS,
        scan_rows=SCAN_ROWS,
        filters={**filters, "q": filters["search"] or ""}, statuses=[x.value for x in Status],
        currencies=list(CURRENCY_EXPONENTS),
    )  # fmt: skip


async def owner(request: Request, s: Session, payment_id: str) -> str:
    """Whose payment this is, as far as the viewer may know: 404 for another tenant's."""
    if s.tenant_id is not None:
        return s.tenant_id
    calls: EngineCalls = request.app.state.calls
    return str(await calls.read(lambda e: e.payment_tenant(payment_id)))


def events_view(e: Engine, tenant_id: str, payment_id: str) -> list[dict[str, Any]]:
    """Each event of the payment with its delivery and every attempt, oldest first."""
    return [
        {"event": ev, "delivery": d, "attempts": e.delivery_attempts(tenant_id, ev.id)}
        for ev, d in e.payment_activity(tenant_id, payment_id, EVENTS_MAX)
    ]


def payment_view(e: Engine, tenant_id: str, payment_id: str) -> dict[str, Any]:
    p = e.get_payment(tenant_id, payment_id)
    history = e.audit_history(tenant_id, payment_id)
    return {
        "p": p, "history": history, "diagram": timeline.diagram(history, p.status),
        "refunds": e.refunds(tenant_id, payment_id),
        "disputes": e.disputes(tenant_id, payment_id),
        "decisions": e.fraud_decisions(tenant_id, payment_id),
        "events": events_view(e, tenant_id, payment_id),
    }  # fmt: skip


async def _payment_page(
    request: Request, s: Session, payment_id: str, status: int = 200, error: str | None = None
) -> Response:
    tenant_id = await owner(request, s, payment_id)
    calls: EngineCalls = request.app.state.calls
    view = await calls.read(lambda e: payment_view(e, tenant_id, payment_id))
    return page(
        request, "payment.html", status, offers=actions.offers(view["p"], s.admin), moved=False,
        error=error, done=request.query_params.get("done"), **view,
    )  # fmt: skip


@router.get("/payments/{payment_id}")
async def payment(request: Request, payment_id: str, s: Viewer) -> Response:
    return await _payment_page(request, s, payment_id)


@router.get("/payments/{payment_id}/live")
async def payment_live(request: Request, payment_id: str, s: Viewer) -> Response:
    """Server-sent events: the events section again whenever a delivery moves."""
    tenant_id = await owner(request, s, payment_id)
    calls: EngineCalls = request.app.state.calls
    await calls.read(lambda e: e.get_payment(tenant_id, payment_id))

    shown = request.query_params.get("shown")

    def read(e: Engine) -> dict[str, Any]:
        status = e.get_payment(tenant_id, payment_id).status.value
        return {"events": events_view(e, tenant_id, payment_id), "status": status}

    async def render() -> str:
        view = await to_thread.run_sync(read, calls.engine)
        return fragment("_events.html", moved=view["status"] != shown, **view)

    return live.stream(request, render)


@router.post("/payments/{payment_id}/{button}")
async def act(request: Request, payment_id: str, button: str, s: Viewer) -> Response:
    fields = await form(request, s)
    chosen = actions.BY_NAME.get(button)
    if chosen is None:
        raise NotFound("action", button)
    tenant_id = await owner(request, s, payment_id)
    calls: EngineCalls = request.app.state.calls
    p = await calls.read(lambda e: e.get_payment(tenant_id, payment_id))
    if chosen.name not in {o.button.name for o in actions.offers(p, s.admin)}:
        message = f"{chosen.label} is not possible for a {p.status.value} payment"
        return await _payment_page(request, s, payment_id, 400, message)
    key = fields.get("idempotency_key") or ""
    if not key:
        raise ValidationError("is required (the form carries one)", "idempotency_key")
    try:
        values = {"amount": amount(fields), "reason": fields.get("reason")}
        run = actions.command(chosen, tenant_id, payment_id, values, key)
        await calls.write(run, tenant_id)
    except MockPayError as exc:
        return await _payment_page(request, s, payment_id, status_of(exc), exc.message)
    return see_other(f"/payments/{payment_id}?done={chosen.name}")
