"""PostgreSQL delivery queue: claims with ``FOR UPDATE SKIP LOCKED`` and a lease.

Dispatchers in many processes claim at once: each locks the due rows it picks, skipping
rows another claim holds, and leases them in the same statement, so no delivery is claimed
twice. A claim increments the attempt number; a dispatcher that dies after sending leaves
a lease that expires, and the next claim is a new attempt with the same event id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from psycopg import Connection

from mockpay_core.domain.delivery import Attempt, Claim, Delivery
from mockpay_core.domain.retry import DeliveryStatus

PENDING: Final = DeliveryStatus.PENDING.value
DELIVERING: Final = DeliveryStatus.DELIVERING.value
DELIVERED: Final = DeliveryStatus.DELIVERED.value
DEAD: Final = DeliveryStatus.DEAD.value

# Per-payment order: a delivery waits while an earlier one of its payment is still open.
# OFFSET 0 keeps this a per-candidate probe of deliveries_open: as an anti-join the planner
# (with stale statistics on a growing queue) scanned every open delivery per candidate.
_FIRST_OPEN: Final = (
    "NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.payment_id = d.payment_id"
    f" AND o.seq < d.seq AND o.status IN ('{PENDING}', '{DELIVERING}') OFFSET 0)"
)
# Each branch walks its own partial index in time order and stops at ``limit``.
_CLAIM_SQL: Final = f"""
WITH due AS (
    SELECT d.seq, d.next_attempt_at AS at FROM deliveries d
    WHERE d.status = '{PENDING}' AND d.next_attempt_at <= %(now)s AND {_FIRST_OPEN}
    ORDER BY d.next_attempt_at, d.seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), expired AS (
    SELECT d.seq, d.lease_until AS at FROM deliveries d
    WHERE d.status = '{DELIVERING}' AND d.lease_until <= %(now)s AND {_FIRST_OPEN}
    ORDER BY d.lease_until, d.seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), picked AS (
    SELECT seq FROM (SELECT * FROM due UNION ALL SELECT * FROM expired) u
    ORDER BY at, seq LIMIT %(limit)s
), claimed AS (
    UPDATE deliveries d SET status = '{DELIVERING}', lease_until = %(lease)s,
        lease_owner = %(owner)s, attempts = d.attempts + 1
    FROM picked WHERE d.seq = picked.seq
    RETURNING d.seq, d.event_id, d.tenant_id, d.payment_id, d.attempts, d.round_start,
        d.next_attempt_at
)
SELECT c.seq, c.event_id, c.tenant_id, c.payment_id, e.type, e.payload, p.webhook_url,
       c.attempts, c.attempts - c.round_start, c.next_attempt_at,
       t.webhook_secret, t.previous_webhook_secret, t.secret_rotated_at, x.url IS NOT NULL
FROM claimed c
JOIN events e ON e.id = c.event_id
JOIN payments p ON p.id = c.payment_id
JOIN tenants t ON t.id = c.tenant_id
LEFT JOIN disabled_endpoints x ON x.tenant_id = c.tenant_id AND x.url = p.webhook_url
ORDER BY c.next_attempt_at, c.seq
"""
DELIVERY_COLS: Final = (
    "d.event_id, d.tenant_id, d.payment_id, e.type, d.status, d.attempts, d.next_attempt_at,"
    " d.created_at, d.last_error, d.delivered_at, d.dead_at, d.dead_reason, e.payload"
)
_ATTEMPT_COLS: Final = (
    "id, event_id, tenant_id, attempt, url, scheduled_at, sent_at, duration_ms, status_code,"
    " error, response_excerpt, succeeded"
)


def _delivery(r: tuple[Any, ...]) -> Delivery:
    return Delivery(r[0], r[1], r[2], r[3], DeliveryStatus(r[4]), *r[5:])


def _filters(tenant_id: str | None, **more: object) -> tuple[str, list[object]]:
    sql, params = "", []
    for column, value in (("d.tenant_id", tenant_id), *more.items()):
        if value is not None:
            sql += f" AND {column} = %s"
            params.append(value)
    return sql, params


class DeliveryReads:
    _conn: Connection[tuple[Any, ...]]

    def deliveries(
        self,
        tenant_id: str | None,
        *,
        payment_id: str | None = None,
        event_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        where, params = _filters(
            tenant_id, **{"d.payment_id": payment_id, "d.event_id": event_id, "d.status": status}
        )
        rows = self._conn.execute(
            f"SELECT {DELIVERY_COLS} FROM deliveries d JOIN events e ON e.id = d.event_id"
            f" WHERE true{where} ORDER BY d.seq LIMIT %s",
            [*params, limit],
        )
        return [_delivery(r) for r in rows]

    def dead_deliveries(self, tenant_id: str | None, limit: int) -> list[Delivery]:
        """The dead-letter queue, newest first."""
        where, params = _filters(tenant_id)
        rows = self._conn.execute(
            f"SELECT {DELIVERY_COLS} FROM deliveries d JOIN events e ON e.id = d.event_id"
            f" WHERE d.status = '{DEAD}'{where} ORDER BY d.dead_at DESC, d.seq DESC LIMIT %s",
            [*params, limit],
        )
        return [_delivery(r) for r in rows]

    def attempts(self, tenant_id: str | None, event_id: str | None, limit: int) -> list[Attempt]:
        sql = f"SELECT {_ATTEMPT_COLS} FROM delivery_attempts WHERE true"
        params: list[object] = []
        for column, value in (("tenant_id", tenant_id), ("event_id", event_id)):
            if value is not None:
                sql += f" AND {column} = %s"
                params.append(value)
        rows = self._conn.execute(
            sql + " ORDER BY sent_at, event_id, attempt LIMIT %s", [*params, limit]
        )
        return [Attempt(*r) for r in rows]

    def next_delivery_due(self) -> datetime | None:
        row = self._conn.execute(
            f"SELECT least((SELECT d.next_attempt_at FROM deliveries d WHERE d.status = '{PENDING}'"
            f" AND {_FIRST_OPEN} ORDER BY d.next_attempt_at LIMIT 1),"
            f" (SELECT lease_until FROM deliveries WHERE status = '{DELIVERING}'"
            " ORDER BY lease_until LIMIT 1))"
        ).fetchone()
        return None if row is None else row[0]

    def delivery_metrics(self, tenant_id: str | None) -> dict[str, Any]:
        scope, params = ("WHERE tenant_id = %s", [tenant_id]) if tenant_id else ("", [])
        row = self._conn.execute(
            f"SELECT count(*), count(*) FILTER (WHERE succeeded) FROM delivery_attempts {scope}",
            params,
        ).fetchone()
        attempts, ok = (0, 0) if row is None else (int(row[0]), int(row[1]))
        by_status = dict.fromkeys((s.value for s in DeliveryStatus), 0)
        events = 0
        for status, n in self._conn.execute(
            f"SELECT status, count(*) FROM deliveries {scope} GROUP BY status", params
        ):
            by_status[status], events = n, events + n
        latency = "extract(epoch FROM delivered_at - created_at)::float8"
        where = f"WHERE status = '{DELIVERED}'" + (" AND tenant_id = %s" if tenant_id else "")

        def percentile(q: float) -> float | None:
            n = by_status[DELIVERED]
            if n == 0:
                return None
            row = self._conn.execute(
                f"SELECT {latency} AS s FROM deliveries {where} ORDER BY s LIMIT 1 OFFSET %s",
                [*params, int(q * (n - 1))],
            ).fetchone()
            return None if row is None else round(float(row[0]), 3)

        finished = by_status[DELIVERED] + by_status[DEAD]
        return {
            "total_attempts": attempts,
            "successful": ok,
            "failed": attempts - ok,
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
    def claim_deliveries(
        self, now: datetime, limit: int, lease_until: datetime, owner: str
    ) -> list[Claim]:
        rows = self._conn.execute(
            _CLAIM_SQL, {"now": now, "limit": limit, "lease": lease_until, "owner": owner}
        ).fetchall()
        return [
            Claim(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
                  r[12], bool(r[13]))
            for r in rows
        ]  # fmt: skip

    def record_attempt(self, a: Attempt) -> None:
        self._conn.execute(
            f"INSERT INTO delivery_attempts ({_ATTEMPT_COLS})"
            f" VALUES ({', '.join(['%s'] * 12)})",
            (
                a.id, a.event_id, a.tenant_id, a.attempt, a.url, a.scheduled_at, a.sent_at,
                a.duration_ms, a.status_code, a.error, a.response_excerpt, a.succeeded,
            ),
        )  # fmt: skip

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
    ) -> bool:
        """Settle a claimed delivery; False when the lease was lost to another dispatcher."""
        cur = self._conn.execute(
            "UPDATE deliveries SET status = %s,"
            " next_attempt_at = coalesce(%s, next_attempt_at), lease_until = NULL,"
            " lease_owner = NULL, last_error = %s, delivered_at = %s, dead_at = %s,"
            f" dead_reason = %s WHERE event_id = %s AND lease_owner = %s"
            f" AND status = '{DELIVERING}'",
            (
                status.value, next_attempt_at, last_error,
                now if status is DeliveryStatus.DELIVERED else None,
                now if status is DeliveryStatus.DEAD else None,
                dead_reason, event_id, owner,
            ),
        )  # fmt: skip
        return cur.rowcount == 1

    def disable_endpoint(self, tenant_id: str, url: str, reason: str, at: datetime) -> None:
        self._conn.execute(
            "INSERT INTO disabled_endpoints VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (tenant_id, url, reason, at),
        )

    def replay_dead(
        self,
        now: datetime,
        *,
        tenant_id: str | None = None,
        event_id: str | None = None,
        since: datetime | None = None,
    ) -> int:
        """Dead deliveries back to pending (their endpoints re-enabled); how many."""
        where, params = _filters(tenant_id, **{"d.event_id": event_id})
        if since is not None:
            where += " AND d.dead_at >= %s"
            params.append(since)
        picked = f"SELECT d.seq FROM deliveries d WHERE d.status = '{DEAD}'{where}"
        self._conn.execute(
            "DELETE FROM disabled_endpoints WHERE (tenant_id, url) IN (SELECT d.tenant_id,"
            " p.webhook_url FROM deliveries d JOIN payments p ON p.id = d.payment_id"
            f" WHERE d.seq IN ({picked}))",
            params,
        )
        cur = self._conn.execute(
            f"UPDATE deliveries SET status = '{PENDING}', round_start = attempts,"
            " next_attempt_at = %s, dead_at = NULL, dead_reason = NULL, last_error = NULL"
            f" WHERE seq IN ({picked})",
            [now, *params],
        )
        return cur.rowcount
