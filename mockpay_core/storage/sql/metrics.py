"""The original's metrics: one scan per table, scoped to a tenant or not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockpay_core.domain.fraud import Outcome
from mockpay_core.domain.states import Status

if TYPE_CHECKING:
    from mockpay_core.storage.sql.connected import Connected


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def metrics(reader: Connected, since: object, tenant_id: str | None) -> dict[str, Any]:
    """``since`` in the dialect's time encoding."""
    scoped = tenant_id is not None
    scope, params = ("WHERE tenant_id = ?", [tenant_id]) if scoped else ("WHERE 1 = 1", [])

    def rows(name: str, build: str, values: list[Any]) -> list[Any]:
        return reader._all(reader.sql.built((name, scoped), lambda: build), values)

    by_status = dict.fromkeys((s.value for s in Status), 0)
    for status, count in rows(
        "m_status", f"SELECT status, count(*) FROM payments {scope} GROUP BY status", params
    ):
        by_status[status] = count
    [(total, last_24h, captured)] = rows(
        "m_payments",
        "SELECT count(*), count(*) FILTER (WHERE created_at >= ?),"
        f" count(*) FILTER (WHERE captured_minor > 0) FROM payments {scope}",
        [since, *params],
    )
    by_currency = {
        currency: {"count": n, "volume_minor": int(volume), "average_minor": round(volume / n)}
        for currency, n, volume in rows(
            "m_currency",
            f"SELECT currency, count(*), sum(amount_minor) FROM payments {scope}"
            " GROUP BY currency ORDER BY currency",
            params,
        )
    }
    [(flagged, flagged_24h)] = rows(
        "m_fraud",
        "SELECT count(*), count(*) FILTER (WHERE created_at >= ?) FROM fraud_decisions"
        f" {scope} AND outcome = ?",
        [since, *params, Outcome.FLAG.value],
    )
    [(transitions, with_history, transitions_24h)] = rows(
        "m_audit",
        "SELECT count(*), count(DISTINCT payment_id), count(*) FILTER (WHERE created_at >= ?)"
        f" FROM audit_log {scope}",
        [since, *params],
    )
    [(events, events_24h)] = rows(
        "m_events",
        f"SELECT count(*), count(*) FILTER (WHERE created_at >= ?) FROM events {scope}",
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
