"""SQLite delivery queue: claims with leases, attempts, the dead-letter queue.

Claims run inside the store's ``BEGIN IMMEDIATE``, so two dispatchers never claim the same
delivery; PostgreSQL does the same with ``FOR UPDATE SKIP LOCKED``. A claim increments the
attempt number, so a dispatcher that dies after sending leaves a lease that expires, and
the next claim is a new attempt number with the same event id (at-least-once).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any, Final

from mockpay_core.domain.delivery import Attempt, Claim, Delivery
from mockpay_core.domain.retry import DeliveryStatus

_dt = datetime.fromisoformat
# Literals, not parameters: SQLite uses a partial index only when the query names its value.
PENDING: Final = DeliveryStatus.PENDING.value
DELIVERING: Final = DeliveryStatus.DELIVERING.value
DELIVERED: Final = DeliveryStatus.DELIVERED.value
DEAD: Final = DeliveryStatus.DEAD.value

# Per-payment order: a delivery waits while an earlier one of its payment is still open.
# Each branch of the claim orders and limits on its own index, so a pass costs O(limit)
# whatever the backlog (one global sort made draining N events cost N**2 / limit).
_FIRST_OPEN: Final = (
    "NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.payment_id = d.payment_id"
    f" AND o.seq < d.seq AND o.status IN ('{PENDING}', '{DELIVERING}'))"
)
_CLAIM_SQL: Final = f"""
WITH due AS (
    SELECT * FROM (
        SELECT d.seq FROM deliveries d
        WHERE d.status = '{PENDING}' AND d.next_attempt_at <= :now AND {_FIRST_OPEN}
        ORDER BY d.next_attempt_at, d.seq LIMIT :limit
    )
    UNION ALL
    SELECT * FROM (
        SELECT d.seq FROM deliveries d
        WHERE d.status = '{DELIVERING}' AND d.lease_until <= :now AND {_FIRST_OPEN}
        ORDER BY d.lease_until, d.seq LIMIT :limit
    )
)
SELECT d.seq, d.event_id, d.tenant_id, d.payment_id, e.type, e.payload, p.webhook_url,
       d.attempts + 1, d.attempts + 1 - d.round_start, d.next_attempt_at,
       t.webhook_secret, t.previous_webhook_secret, t.secret_rotated_at, x.url IS NOT NULL
FROM due
JOIN deliveries d ON d.seq = due.seq
JOIN events e ON e.id = d.event_id
JOIN payments p ON p.id = d.payment_id
JOIN tenants t ON t.id = d.tenant_id
LEFT JOIN disabled_endpoints x ON x.tenant_id = d.tenant_id AND x.url = p.webhook_url
ORDER BY d.next_attempt_at, d.seq
LIMIT :limit
"""
DELIVERY_COLS: Final = (
    "d.event_id, d.tenant_id, d.payment_id, e.type, d.status, d.attempts, d.next_attempt_at,"
    " d.created_at, d.last_error, d.delivered_at, d.dead_at, d.dead_reason, e.payload"
)
_ATTEMPT_COLS: Final = (
    "id, event_id, tenant_id, attempt, url, scheduled_at, sent_at, duration_ms, status_code,"
    " error, response_excerpt, succeeded"
)


def _ts(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="microseconds")


def _opt(text: str | None) -> datetime | None:
    return None if text is None else _dt(text)


def _delivery(r: tuple[Any, ...]) -> Delivery:
    return Delivery(
        r[0], r[1], r[2], r[3], DeliveryStatus(r[4]), r[5], _dt(r[6]), _dt(r[7]), r[8],
        _opt(r[9]), _opt(r[10]), r[11], json.loads(r[12]),
    )  # fmt: skip


def _attempt(r: tuple[Any, ...]) -> Attempt:
    return Attempt(
        r[0], r[1], r[2], r[3], r[4], _dt(r[5]), _dt(r[6]), r[7], r[8], r[9], r[10], bool(r[11])
    )


def _filters(tenant_id: str | None, **more: object) -> tuple[str, list[object]]:
    sql, params = "", []
    for column, value in (("d.tenant_id", tenant_id), *more.items()):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    return sql, params


class DeliveryReads:
    _conn: sqlite3.Connection

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
            f" WHERE 1 = 1{where} ORDER BY d.seq LIMIT ?",
            [*params, limit],
        )
        return [_delivery(r) for r in rows]

    def dead_deliveries(self, tenant_id: str | None, limit: int) -> list[Delivery]:
        """The dead-letter queue, newest first."""
        where, params = _filters(tenant_id)
        rows = self._conn.execute(
            f"SELECT {DELIVERY_COLS} FROM deliveries d JOIN events e ON e.id = d.event_id"
            f" WHERE d.status = '{DEAD}'{where} ORDER BY d.dead_at DESC, d.seq DESC LIMIT ?",
            [*params, limit],
        )
        return [_delivery(r) for r in rows]

    def attempts(self, tenant_id: str | None, event_id: str | None, limit: int) -> list[Attempt]:
        sql = f"SELECT {_ATTEMPT_COLS} FROM delivery_attempts WHERE 1 = 1"
        params: list[object] = []
        for column, value in (("tenant_id", tenant_id), ("event_id", event_id)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        rows = self._conn.execute(
            sql + " ORDER BY sent_at, event_id, attempt LIMIT ?", [*params, limit]
        )
        return [_attempt(r) for r in rows]

    def next_delivery_due(self) -> datetime | None:
        """Both branches walk their index in time order and stop at the first hit."""
        times = [
            row[0]
            for sql in (
                f"SELECT d.next_attempt_at FROM deliveries d WHERE d.status = '{PENDING}'"
                f" AND {_FIRST_OPEN} ORDER BY d.next_attempt_at LIMIT 1",
                f"SELECT lease_until FROM deliveries WHERE status = '{DELIVERING}'"
                " ORDER BY lease_until LIMIT 1",
            )
            for row in self._conn.execute(sql)
        ]
        return _dt(min(times)) if times else None

    def delivery_metrics(self, tenant_id: str | None) -> dict[str, Any]:
        scope, params = ("WHERE tenant_id = ?", [tenant_id]) if tenant_id else ("", [])
        attempts, ok = self._conn.execute(
            f"SELECT count(*), total(succeeded) FROM delivery_attempts {scope}", params
        ).fetchone()
        by_status = dict.fromkeys((s.value for s in DeliveryStatus), 0)
        events = 0
        for status, n in self._conn.execute(
            f"SELECT status, count(*) FROM deliveries {scope} GROUP BY status", params
        ):
            by_status[status], events = n, events + n
        latency = "(julianday(delivered_at) - julianday(created_at)) * 86400.0"
        where = f"WHERE status = '{DELIVERED}'" + (" AND tenant_id = ?" if tenant_id else "")

        def percentile(q: float) -> float | None:
            n = by_status[DELIVERED]
            if n == 0:
                return None
            row = self._conn.execute(
                f"SELECT {latency} AS s FROM deliveries {where} ORDER BY s LIMIT 1 OFFSET ?",
                [*params, int(q * (n - 1))],
            ).fetchone()
            return round(float(row[0]), 3)

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
    def claim_deliveries(
        self, now: datetime, limit: int, lease_until: datetime, owner: str
    ) -> list[Claim]:
        rows = self._conn.execute(
            _CLAIM_SQL, {"now": now.isoformat(timespec="microseconds"), "limit": limit}
        ).fetchall()
        self._conn.executemany(
            f"UPDATE deliveries SET status = '{DELIVERING}', lease_until = ?, lease_owner = ?,"
            " attempts = attempts + 1 WHERE seq = ?",
            [(lease_until.isoformat(timespec="microseconds"), owner, r[0]) for r in rows],
        )
        return [
            Claim(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                json.loads(r[5]),
                r[6],
                r[7],
                r[8],
                _dt(r[9]),
                r[10],
                r[11],
                _opt(r[12]),
                bool(r[13]),
            )
            for r in rows
        ]

    def record_attempt(self, a: Attempt) -> None:
        self._conn.execute(
            f"INSERT INTO delivery_attempts ({_ATTEMPT_COLS}) VALUES ({', '.join('?' * 12)})",
            (
                a.id, a.event_id, a.tenant_id, a.attempt, a.url,
                a.scheduled_at.isoformat(timespec="microseconds"),
                a.sent_at.isoformat(timespec="microseconds"), a.duration_ms, a.status_code,
                a.error, a.response_excerpt, int(a.succeeded),
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
        at = now.isoformat(timespec="microseconds")
        cur = self._conn.execute(
            "UPDATE deliveries SET status = ?, next_attempt_at = coalesce(?, next_attempt_at),"
            " lease_until = NULL, lease_owner = NULL, last_error = ?, delivered_at = ?,"
            f" dead_at = ?, dead_reason = ? WHERE event_id = ? AND lease_owner = ?"
            f" AND status = '{DELIVERING}'",
            (
                status.value,
                _ts(next_attempt_at),
                last_error,
                at if status is DeliveryStatus.DELIVERED else None,
                at if status is DeliveryStatus.DEAD else None,
                dead_reason, event_id, owner,
            ),
        )  # fmt: skip
        return cur.rowcount == 1

    def disable_endpoint(self, tenant_id: str, url: str, reason: str, at: datetime) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO disabled_endpoints VALUES (?, ?, ?, ?)",
            (tenant_id, url, reason, at.isoformat(timespec="microseconds")),
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
            where += " AND d.dead_at >= ?"
            params.append(since.isoformat(timespec="microseconds"))
        picked = f"SELECT d.seq FROM deliveries d WHERE d.status = '{DEAD}'{where}"
        self._conn.execute(
            "DELETE FROM disabled_endpoints WHERE (tenant_id, url) IN (SELECT d.tenant_id,"
            f" p.webhook_url FROM deliveries d JOIN payments p ON p.id = d.payment_id"
            f" WHERE d.seq IN ({picked}))",
            params,
        )
        cur = self._conn.execute(
            f"UPDATE deliveries SET status = '{PENDING}', round_start = attempts,"
            " next_attempt_at = ?, dead_at = NULL, dead_reason = NULL, last_error = NULL"
            f" WHERE seq IN ({picked})",
            [now.isoformat(timespec="microseconds"), *params],
        )
        return cur.rowcount
