"""The original's metrics, computed in SQL (one scan per table, scoped to a tenant or not)."""

from __future__ import annotations

import sqlite3
from typing import Any

from mockpay_core.domain.fraud import Outcome
from mockpay_core.domain.states import Status


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def metrics(conn: sqlite3.Connection, since: str, tenant_id: str | None) -> dict[str, Any]:
    scope, params = ("WHERE tenant_id = ?", [tenant_id]) if tenant_id else ("WHERE 1 = 1", [])
    by_status = dict.fromkeys((s.value for s in Status), 0)
    for status, count in conn.execute(
        f"SELECT status, count(*) FROM payments {scope} GROUP BY status", params
    ):
        by_status[status] = count
    total, last_24h, captured = conn.execute(
        f"SELECT count(*), count(*) FILTER (WHERE created_at >= ?),"
        f" count(*) FILTER (WHERE captured_minor > 0) FROM payments {scope}",
        [since, *params],
    ).fetchone()
    by_currency = {
        currency: {"count": n, "volume_minor": volume, "average_minor": round(volume / n)}
        for currency, n, volume in conn.execute(
            f"SELECT currency, count(*), sum(amount_minor) FROM payments {scope}"
            " GROUP BY currency ORDER BY currency",
            params,
        )
    }
    flagged, flagged_24h = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE created_at >= ?) FROM fraud_decisions"
        f" {scope} AND outcome = ?",
        [since, *params, Outcome.FLAG.value],
    ).fetchone()
    transitions, with_history, transitions_24h = conn.execute(
        "SELECT count(*), count(DISTINCT payment_id), count(*) FILTER (WHERE created_at >= ?)"
        f" FROM audit_log {scope}",
        [since, *params],
    ).fetchone()
    events, events_24h = conn.execute(
        f"SELECT count(*), count(*) FILTER (WHERE created_at >= ?) FROM events {scope}",
        [since, *params],
    ).fetchone()
    return {
        "payments": {
            "total": total,
            "by_status": by_status,
            "last_24_hours": last_24h,
            "by_currency": by_currency,
            "success_rate_pct": _pct(captured, total),
        },
        "fraud": {
            "total_flagged": flagged,
            "flagged_last_24h": flagged_24h,
            "flag_rate_pct": _pct(flagged, total),
        },
        "audit": {
            "total_transitions": transitions,
            "payments_with_history": with_history,
            "transitions_last_24h": transitions_24h,
        },
        "events": {"total": events, "last_24_hours": events_24h},
    }
