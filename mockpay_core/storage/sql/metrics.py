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
    total = last_24h = captured = 0
    volumes: dict[str, list[int]] = {}  # currency: [count, volume]
    for status, currency, n, volume, recent, paid in rows(
        "m_payments",  # one scan: a group per status and currency
        "SELECT status, currency, count(*), sum(amount_minor),"
        " count(*) FILTER (WHERE created_at >= ?), count(*) FILTER (WHERE captured_minor > 0)"
        f" FROM payments {scope} GROUP BY status, currency",
        [since, *params],
    ):
        by_status[status] += n
        total, last_24h, captured = total + n, last_24h + recent, captured + paid
        kept = volumes.setdefault(currency, [0, 0])
        kept[0], kept[1] = kept[0] + n, kept[1] + int(volume)
    by_currency = {
        currency: {"count": n, "volume_minor": volume, "average_minor": round(volume / n)}
        for currency, (n, volume) in sorted(volumes.items())
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
