"""The delivery queue's reads and writes, written once: attempts, settling a lease, the
dead-letter queue. Claiming differs (SQLite's writer holds the whole database, PostgreSQL
skips rows other claims hold), so each adapter writes ``claim_deliveries`` itself.

A claim increments the attempt number, so a dispatcher that dies after sending leaves a
lease that expires, and the next claim is a new attempt number with the same event id
(at-least-once).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from mockpay_core.domain.delivery import Attempt, Delivery
from mockpay_core.domain.retry import DeliveryStatus
from mockpay_core.storage.sql.connected import Connected
from mockpay_core.storage.sql.queries import DEAD, DELIVERED, DELIVERY_ITEMS, PENDING, Sql

if TYPE_CHECKING:
    from collections.abc import Sequence

DELIVERY_SELECT = ", ".join(f"{expr} AS {name}" for expr, name, _ in DELIVERY_ITEMS)
FROM_DELIVERIES = (
    "FROM deliveries d JOIN events e ON e.tenant_id = d.tenant_id AND e.id = d.event_id"
)


def _filters(**columns: object) -> tuple[tuple[str, ...], list[object]]:
    """The columns given a value, and their values, in argument order."""
    named = [(c, v) for c, v in columns.items() if v is not None]
    return tuple(c for c, _ in named), [v for _, v in named]


def _where(names: Sequence[str], prefix: str = "d.") -> str:
    return "".join(f" AND {prefix}{name} = ?" for name in names)


class DeliveryReads(Connected):
    def deliveries(
        self,
        tenant_id: str | None,
        *,
        payment_id: str | None = None,
        event_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        names, params = _filters(
            tenant_id=tenant_id, payment_id=payment_id, event_id=event_id, status=status
        )
        sql = self.sql.built(
            ("deliveries", names),
            lambda: (
                f"SELECT {DELIVERY_SELECT} {FROM_DELIVERIES} WHERE 1 = 1{_where(names)}"
                " ORDER BY d.seq LIMIT ?"
            ),
        )
        found: list[Delivery] = self.sql.delivery.many(self._all(sql, [*params, limit]))
        return found

    def dead_deliveries(self, tenant_id: str | None, limit: int) -> list[Delivery]:
        """The dead-letter queue, newest first."""
        names, params = _filters(tenant_id=tenant_id)
        sql = self.sql.built(
            ("dead", names),
            lambda: (
                f"SELECT {DELIVERY_SELECT} {FROM_DELIVERIES} WHERE d.status = '{DEAD}'"
                f"{_where(names)} ORDER BY d.dead_at DESC, d.seq DESC LIMIT ?"
            ),
        )
        found: list[Delivery] = self.sql.delivery.many(self._all(sql, [*params, limit]))
        return found

    def attempts(self, tenant_id: str | None, event_id: str | None, limit: int) -> list[Attempt]:
        names, params = _filters(tenant_id=tenant_id, event_id=event_id)
        sql = self.sql.built(
            ("attempts", names),
            lambda: (
                f"SELECT {', '.join(self.sql.attempt.names)} FROM delivery_attempts"
                f" WHERE 1 = 1{_where(names, '')} ORDER BY sent_at, event_id, attempt LIMIT ?"
            ),
        )
        found: list[Attempt] = self.sql.attempt.many(self._all(sql, [*params, limit]))
        return found

    def next_delivery_due(self) -> datetime | None:
        """The earliest time a delivery becomes due (or a lease expires), if any."""
        times = [self._decode_time(t) for t in self._all(self.sql.next_delivery_due)[0] if t]
        return min(times) if times else None

    def delivery_metrics(self, tenant_id: str | None) -> dict[str, Any]:
        sql: Sql = self.sql
        scope, params = ("WHERE tenant_id = ?", [tenant_id]) if tenant_id else ("", [])
        [(attempts, ok)] = self._all(
            sql.built(
                ("attempt_counts", bool(tenant_id)),
                lambda: (
                    "SELECT count(*), count(*) FILTER (WHERE succeeded)"
                    f" FROM delivery_attempts {scope}"
                ),
            ),
            params,
        )
        by_status = dict.fromkeys((s.value for s in DeliveryStatus), 0)
        counts = sql.built(
            ("delivery_counts", bool(tenant_id)),
            lambda: f"SELECT status, count(*) FROM deliveries {scope} GROUP BY status",
        )
        for status, n in self._all(counts, params):
            by_status[status] = n
        events = sum(by_status.values())
        latency = sql.built(
            ("latency", bool(tenant_id)),
            lambda: (
                f"SELECT {sql.dialect.seconds_between('delivered_at', 'created_at')} AS s"
                f" FROM deliveries WHERE status = '{DELIVERED}'"
                f"{' AND tenant_id = ?' if tenant_id else ''} ORDER BY s LIMIT 1 OFFSET ?"
            ),
        )

        def percentile(q: float) -> float | None:
            n = by_status[DELIVERED]
            if n == 0:
                return None
            [(seconds,)] = self._all(latency, [*params, int(q * (n - 1))])
            return round(float(seconds), 3)

        finished = by_status[DELIVERED] + by_status[DEAD]
        return {
            "total_attempts": attempts,
            "successful": int(ok),
            "failed": attempts - int(ok),
            "events": events,
            "by_status": by_status,
            "delivery_rate_pct": round(100.0 * by_status[DELIVERED] / finished, 2)
            if finished
            else 0.0,
            "average_attempts": round(attempts / events, 3) if events else 0.0,
            "dlq_depth": by_status[DEAD],
            "latency_p50_s": percentile(0.50),
            "latency_p95_s": percentile(0.95),
        }


class DeliveryWrites(DeliveryReads):
    def record_attempt(self, attempt: Attempt) -> None:
        self._conn.execute(self.sql.record_attempt, self.sql.attempt_params(attempt))

    def finish_delivery(
        self,
        event_id: str,
        owner: str,
        status: DeliveryStatus,
        now: datetime,
        *,
        next_attempt_at: datetime | None = None,
        last_error: str | None = None,
        dead_reason: str | None = None,
        answered: bool = True,
    ) -> bool | None:
        """Settle a claimed delivery; False when the lease was lost to another dispatcher
        (None when not ``answered``: on PostgreSQL, then sent without a wait)."""
        at = self._time(now)
        params = (
            status.value, self._time(next_attempt_at), last_error,
            at if status is DeliveryStatus.DELIVERED else None,
            at if status is DeliveryStatus.DEAD else None,
            dead_reason, event_id, owner,
        )  # fmt: skip
        if not answered:
            self._conn.execute(self.sql.finish_delivery, params)
            return None
        return self._count(self.sql.finish_delivery, params) == 1

    def disable_endpoint(self, tenant_id: str, url: str, reason: str, at: datetime) -> None:
        self._conn.execute(self.sql.disable_endpoint, (tenant_id, url, reason, self._time(at)))

    def replay_dead(
        self,
        now: datetime,
        *,
        tenant_id: str | None = None,
        event_id: str | None = None,
        since: datetime | None = None,
    ) -> int:
        """Dead deliveries back to pending (their endpoints re-enabled); how many."""
        names, params = _filters(tenant_id=tenant_id, event_id=event_id)
        picked = (
            f"SELECT d.tenant_id, d.seq FROM deliveries d WHERE d.status = '{DEAD}'{_where(names)}"
        )
        if since is not None:
            picked += " AND d.dead_at >= ?"
            params.append(self._time(since))
        enable = self.sql.built(
            ("enable", names, since is not None),
            lambda: (
                "DELETE FROM disabled_endpoints WHERE (tenant_id, url) IN (SELECT d.tenant_id,"
                " p.webhook_url FROM deliveries d JOIN payments p ON p.tenant_id = d.tenant_id"
                f" AND p.id = d.payment_id WHERE (d.tenant_id, d.seq) IN ({picked}))"
            ),
        )
        self._conn.execute(enable, params)
        replay = self.sql.built(
            ("replay", names, since is not None),
            lambda: (
                f"UPDATE deliveries SET status = '{PENDING}', round_start = attempts,"
                " next_attempt_at = ?, dead_at = NULL, dead_reason = NULL, last_error = NULL"
                f" WHERE (tenant_id, seq) IN ({picked})"
            ),
        )
        return self._count(replay, [self._time(now), *params])
