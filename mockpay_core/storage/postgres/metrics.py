"""The original's metrics in PostgreSQL SQL (the same figures as the SQLite adapter's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import Connection

from mockpay_core.domain.fraud import Outcome
from mockpay_core.domain.states import Status


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def metrics(conn: Connection[Any], since: datetime, tenant_id: str | None) -> dict[str, Any]:
    scope, params = ("WHERE tenant_id = %s", [tenant_id]) if tenant_id else ("WHERE true", [])

    def one(sql: str, values: list[Any]) -> tuple[Any, ...]:
        row = conn.execute(sql, values).fetchone()
        assert row is not None  # aggregates always return a row
        return tuple(row)

    by_status = dict.fromkeys((s.value for s in Status), 0)
    for status, count in conn.execute(
        f"SELECT status, count(*) FROM payments {scope} GROUP BY status", params
    ):
        by_status[status] = count
    total, last_24h, captured = one(
        f"SELECT count(*), count(*) FILTER (WHERE created_at >= %s),"
        f" count(*) FILTER (WHERE captured_minor > 0) FROM payments {scope}",
        [since, *params],
    )
    by_currency = {
        currency: {"count": n, "volume_minor": int(volume), "average_minor": round(volume / n)}
        for currency, n, volume in conn.execute(
            f"SELECT currency, count(*), sum(amount_minor) FROM payments {scope}"
            " GROUP BY currency ORDER BY currency",
            params,
        )
    }
    flagged, flagged_24h = one(
        "SELECT count(*), count(*) FILTER (WHERE created_at >= %s) FROM fraud_decisions"
        f" {scope} AND outcome = %s",
        [since, *params, Outcome.FLAG.value],
    )
    transitions, with_history, transitions_24h = one(
        "SELECT count(*), count(DISTINCT payment_id), count(*) FILTER (WHERE created_at >= %s)"
        f" FROM audit_log {scope}",
        [since, *params],
    )
    events, events_24h = one(
        f"SELECT count(*), count(*) FILTER (WHERE created_at >= %s) FROM events {scope}",
        [since, *params],
    )
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
