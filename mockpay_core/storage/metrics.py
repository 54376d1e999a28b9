"""The original's metrics, computed in SQL that SQLite and PostgreSQL both speak (one scan
per table, scoped to a tenant or not); each adapter passes its placeholder."""

from __future__ import annotations

from typing import Any, Protocol

from mockpay_core.domain.fraud import Outcome
from mockpay_core.domain.states import Status


class Connection(Protocol):
    def execute(self, sql: str, params: list[Any], /) -> Any: ...


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def metrics(conn: Connection, ph: str, since: object, tenant_id: str | None) -> dict[str, Any]:
    """``ph`` is the driver's placeholder (``?`` or ``%s``); ``since`` in its time type."""
    scope, params = (f"WHERE tenant_id = {ph}", [tenant_id]) if tenant_id else ("WHERE 1 = 1", [])

    def one(sql: str, values: list[Any]) -> tuple[Any, ...]:
        return tuple(conn.execute(sql, values).fetchone())  # aggregates always return a row

    by_status = dict.fromkeys((s.value for s in Status), 0)
    for status, count in conn.execute(
        f"SELECT status, count(*) FROM payments {scope} GROUP BY status", params
    ):
        by_status[status] = count
    total, last_24h, captured = one(
        f"SELECT count(*), count(*) FILTER (WHERE created_at >= {ph}),"
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
        f"SELECT count(*), count(*) FILTER (WHERE created_at >= {ph}) FROM fraud_decisions"
        f" {scope} AND outcome = {ph}",
        [since, *params, Outcome.FLAG.value],
    )
    transitions, with_history, transitions_24h = one(
        f"SELECT count(*), count(DISTINCT payment_id), count(*) FILTER (WHERE created_at >= {ph})"
        f" FROM audit_log {scope}",
        [since, *params],
    )
    events, events_24h = one(
        f"SELECT count(*), count(*) FILTER (WHERE created_at >= {ph}) FROM events {scope}",
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
