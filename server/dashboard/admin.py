"""The admin's pages: fraud rules (toggle, and what each decided), the clock of a simulated
server (advance it), and metrics (counts and charts; a tenant sees its own)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated, Any, Final

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from mockpay_core import Engine, SimulatedClock
from mockpay_core.errors import ValidationError
from server.dashboard import chart
from server.dashboard.forms import blank_none, form, viewer
from server.dashboard.payments import Text, tenant_scope
from server.dashboard.render import PageRoute, page, see_other
from server.dashboard.session import Session
from server.errors import Forbidden
from server.routers.admin import advance_clock

router = APIRouter(route_class=PageRoute)
DECISIONS_SHOWN = 50
STEPS_S: Final = {"minute": 60, "hour": 3600, "day": 86400}
Viewer = Annotated[Session, Depends(viewer)]


def _admin(s: Session) -> None:
    if not s.admin:
        raise Forbidden("This page is the admin's: sign in with the admin token")


def rule_tallies(decisions: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """rule id -> (payments it was evaluated on, times it fired), over ``decisions``."""
    seen, fired = Counter[str](), Counter[str]()
    for d in decisions:
        for rule in d["evaluated"]:
            seen[rule["rule_id"]] += 1
            fired[rule["rule_id"]] += bool(rule["fired"])
    return {rule_id: (n, fired[rule_id]) for rule_id, n in seen.items()}


@router.get("/rules")
async def rules(request: Request, s: Viewer, tenant: Text = None) -> Response:
    """Every rule, and what each decided on the newest payments of the tenant picked."""
    _admin(s)
    tenant_id, tenants = await tenant_scope(request, s, blank_none(tenant))
    e: Engine = request.app.state.engine

    def read() -> tuple[Any, list[dict[str, Any]]]:
        decisions = (
            [] if tenant_id is None else e.recent_fraud_decisions(tenant_id, DECISIONS_SHOWN)
        )
        return e.list_fraud_rules(), decisions

    found, decisions = await to_thread.run_sync(read)
    return page(request, "rules.html", rules=found, decisions=decisions, tenants=tenants,
                tenant_id=tenant_id, tallies=rule_tallies(decisions))  # fmt: skip


@router.post("/rules/{rule_id}/toggle")
async def toggle(request: Request, rule_id: str, s: Viewer) -> Response:
    _admin(s)
    await form(request, s)
    e: Engine = request.app.state.engine
    await to_thread.run_sync(lambda: e.set_fraud_rule_active(rule_id))
    return see_other("/rules")


def clock_view(e: Engine) -> dict[str, Any]:
    delivery, expiry = e.due_times()
    return {"now": e.clock.now(), "simulated": isinstance(e.clock, SimulatedClock),
            "next_delivery": delivery, "next_expiry": expiry}  # fmt: skip


@router.get("/clock")
async def clock(request: Request, s: Viewer) -> Response:
    _admin(s)
    e: Engine = request.app.state.engine
    view = await to_thread.run_sync(lambda: clock_view(e))
    return page(request, "clock.html", **view, steps=list(STEPS_S), done=request.query_params)


def step_s(e: Engine, step: str | None) -> float:
    """Seconds to move for a button: a fixed step, or up to the next thing due."""
    if step in STEPS_S:
        return STEPS_S[step]
    if step != "next":
        raise ValidationError(f"must be one of {', '.join([*STEPS_S, 'next'])}", "step")
    due = [t for t in e.due_times() if t is not None]
    return max(0.0, (min(due) - e.clock.now()).total_seconds()) if due else 0.0


@router.post("/clock/advance")
async def advance(request: Request, s: Viewer) -> Response:
    _admin(s)
    fields = await form(request, s)
    e: Engine = request.app.state.engine

    def run() -> dict[str, int]:
        return advance_clock(request, e, step_s(e, fields.get("step")))

    done = await to_thread.run_sync(run)
    moved = "&".join(f"{k}={v}" for k, v in done.items() if v)
    return see_other(f"/clock?advanced={fields.get('step')}" + (f"&{moved}" if moved else ""))


def metrics_view(e: Engine, tenant_id: str | None) -> dict[str, Any]:
    m = e.metrics(tenant_id)
    hooks: dict[str, Any] = m["webhooks"]  # type: ignore[assignment]
    percentiles = {"p50": hooks["latency_p50_s"], "p95": hooks["latency_p95_s"]}
    per_minute = e.payments_per_minute(tenant_id, 60)
    return {"m": m, "per_minute": chart.per_minute(per_minute), "minute_counts": per_minute,
            "latency": chart.latency(percentiles), "colours": chart.COLOURS,
            "generated": datetime.fromisoformat(str(m["generated_at"]))}  # fmt: skip


@router.get("/metrics")
async def metrics(request: Request, s: Viewer) -> Response:
    e: Engine = request.app.state.engine
    view = await to_thread.run_sync(lambda: metrics_view(e, s.tenant_id))
    return page(request, "metrics.html", **view)
