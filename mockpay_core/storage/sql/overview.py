"""Reads for looking across a store's rows, written once: the newest deliveries of a
status, a payment's events with their deliveries, payments per minute and the decisions on
a tenant's newest payments (the server's dashboard reads them).

Each is written to use an index a 100,000-payment tenant already has (``bench/dashboard.py``
measures them), and adds none: the write path pays nothing for them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from mockpay_core.domain.delivery import Delivery
from mockpay_core.domain.model import Event
from mockpay_core.domain.retry import DeliveryStatus
from mockpay_core.errors import ValidationError
from mockpay_core.storage.sql import schema as s
from mockpay_core.storage.sql.connected import Connected
from mockpay_core.storage.sql.deliveries import DELIVERY_SELECT
from mockpay_core.storage.sql.queries import DEAD, DELIVERING, PENDING, Sql, select_list

# Each status in the order of its partial index (deliveries_due, _leased, _dead); the rest
# newest first along the primary key.
ORDER_BY: Final = {
    PENDING: "d.next_attempt_at, d.seq",
    DELIVERING: "d.lease_until, d.seq",
    DEAD: "d.dead_at DESC, d.seq DESC",
}
NEWEST_FIRST: Final = "d.seq DESC"
STATUSES: Final = tuple(status.value for status in DeliveryStatus)


class OverviewReads(Connected):
    def recent_deliveries(
        self, tenant_id: str | None, status: str | None, limit: int
    ) -> list[Delivery]:
        sql: Sql = self.sql
        scoped = tenant_id is not None
        if status is not None and status not in STATUSES:
            raise ValidationError(f"must be one of {', '.join(STATUSES)}", "status")
        # Status as a literal: a partial index serves only a query that names its value.
        text = sql.built(
            ("recent_deliveries", status, scoped),
            lambda: (
                f"SELECT {DELIVERY_SELECT} FROM deliveries d JOIN events e"
                " ON e.tenant_id = d.tenant_id AND e.id = d.event_id WHERE 1 = 1"
                + (f" AND d.status = '{status}'" if status else "")
                + (f" AND {sql.dialect.unindexed('d.tenant_id')} = ?" if scoped else "")
                + f" ORDER BY {ORDER_BY.get(status or '', NEWEST_FIRST)} LIMIT ?"
            ),
        )
        params = [tenant_id, limit] if scoped else [limit]
        found: list[Delivery] = sql.delivery.many(self._all(text, params))
        return found

    def payment_activity(
        self, tenant_id: str, payment_id: str, limit: int
    ) -> list[tuple[Event, Delivery | None]]:
        sql: Sql = self.sql
        events = select_list(s.EVENTS.names, "e.")
        text = sql.built(
            ("payment_activity",),
            lambda: (
                f"SELECT {events}, d.event_id AS delivered_event, {DELIVERY_SELECT}"
                " FROM events e LEFT JOIN deliveries d"
                " ON d.tenant_id = e.tenant_id AND d.event_id = e.id"
                f" WHERE e.payment_id = ? AND {sql.dialect.unindexed('e.tenant_id')} = ?"
                " AND e.endpoint_id IS NULL ORDER BY e.created_at, e.id LIMIT ?"
            ),
        )
        width = len(s.EVENTS.names)
        found = []
        for row in self._all(text, [payment_id, tenant_id, limit]):
            event = sql.event(row[:width])
            delivery = None if row[width] is None else sql.delivery(row[width + 1 :])
            found.append((event, delivery))
        return found

    def payments_per_minute(
        self, tenant_id: str | None, since: datetime
    ) -> list[tuple[int, str, int]]:
        sql: Sql = self.sql
        scoped = tenant_id is not None
        minute = sql.dialect.whole_minutes_between("created_at", "?")
        text = sql.built(
            ("payments_per_minute", scoped),
            lambda: (
                f"SELECT {minute} AS minute, status, count(*) FROM payments"
                f" WHERE created_at >= ?{' AND tenant_id = ?' if scoped else ''}"
                " GROUP BY 1, 2 ORDER BY 1, 2"
            ),
        )
        at = self._time(since)
        rows = self._all(text, [at, at, *([tenant_id] if scoped else [])])
        return [(int(m), str(status), int(n)) for m, status, n in rows]

    def recent_decisions(self, tenant_id: str, limit: int) -> list[dict[str, Any]]:
        sql: Sql = self.sql
        fields = select_list(s.FRAUD_DECISIONS.names, "f.")
        text = sql.built(
            ("recent_decisions",),
            lambda: (
                f"SELECT {fields} FROM (SELECT id FROM payments WHERE tenant_id = ?"
                " ORDER BY created_at DESC, id DESC LIMIT ?) p"
                " JOIN fraud_decisions f ON f.payment_id = p.id AND f.tenant_id = ?"
                " ORDER BY f.created_at DESC, f.id DESC"
            ),
        )
        found: list[dict[str, Any]] = sql.decision_row.many(
            self._all(text, [tenant_id, limit, tenant_id])
        )
        return found
