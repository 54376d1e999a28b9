"""/dashboard/webhooks: deliveries due, in flight, delivered and dead, updated live; the
dead-letter queue's replay, one event or every one dead since a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from mockpay_core import Engine
from mockpay_core.errors import ValidationError
from server.calls import EngineCalls
from server.dashboard import live
from server.dashboard.forms import form, viewer
from server.dashboard.render import PageRoute, fragment, page, see_other
from server.dashboard.session import Session, csrf_token

router = APIRouter(route_class=PageRoute)
ROWS = 20
Viewer = Annotated[Session, Depends(viewer)]
SECTIONS = (
    ("pending", "Due, soonest first"), ("delivering", "In flight"),
    ("delivered", "Delivered, newest first"),
)  # fmt: skip


def queues(e: Engine, tenant_id: str | None) -> dict[str, Any]:
    """``ROWS`` of each section and of the dead; ``tenant_id`` None: every tenant's."""
    statuses = (*(status for status, _ in SECTIONS), "dead")
    return {status: e.recent_deliveries(tenant_id, status, ROWS) for status in statuses}


async def _render(request: Request, s: Session) -> str:
    calls: EngineCalls = request.app.state.calls
    found = await to_thread.run_sync(queues, calls.engine, s.tenant_id)
    return fragment("_deliveries.html", queues=found, sections=SECTIONS, admin=s.admin,
                    csrf=request.state.dashboard_csrf)  # fmt: skip


def csrf(request: Request, s: Session) -> str:
    return csrf_token(s, request.app.state.dashboard_key)


@router.get("/webhooks")
async def webhooks(request: Request, s: Viewer) -> Response:
    request.state.dashboard_csrf = csrf(request, s)
    return page(request, "webhooks.html", section=await _render(request, s),
                done=request.query_params.get("done"))  # fmt: skip


@router.get("/webhooks/live")
async def webhooks_live(request: Request, s: Viewer) -> Response:
    request.state.dashboard_csrf = csrf(request, s)
    return live.stream(request, lambda: _render(request, s))


@router.post("/webhooks/dead/{event_id}/replay")
async def replay(request: Request, event_id: str, s: Viewer) -> Response:
    await form(request, s)
    calls: EngineCalls = request.app.state.calls
    await calls.write(lambda e: e.replay_dead_letter(event_id, tenant_id=s.tenant_id),
                      s.tenant_id)  # fmt: skip
    return see_other("/webhooks?done=replayed")


def parse_since(text: str | None) -> datetime:
    """A time as the form's datetime-local field sends it (``2026-03-01T12:00``), in UTC."""
    try:
        since = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationError("must be a time such as 2026-03-01T12:00 (UTC)", "since") from None
    return since.replace(tzinfo=UTC) if since.tzinfo is None else since


@router.post("/webhooks/dead/recover")
async def recover(request: Request, s: Viewer) -> Response:
    fields = await form(request, s)
    since = parse_since(fields.get("since"))
    calls: EngineCalls = request.app.state.calls
    n = await calls.write(lambda e: e.recover_dead_letters(since, tenant_id=s.tenant_id),
                          s.tenant_id)  # fmt: skip
    return see_other(f"/webhooks?done=recovered-{n}")
