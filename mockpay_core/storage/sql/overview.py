"""Reads for looking at a store across its rows, written once: the newest deliveries, payments
per minute and the newest fraud decisions (the server's dashboard reads them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mockpay_core.domain.delivery import Delivery
from mockpay_core.storage.sql.connected import Connected
from mockpay_core.storage.sql.deliveries import DELIVERY_SELECT, FROM_DELIVERIES, _filters, _where
from mockpay_core.storage.sql.queries import Sql
from mockpay_core.storage.sql.schema import Kind

DECISION_FIELDS = ("id", "tenant_id", "payment_id", "outcome", "evaluated", "created_at")
DECISION_KINDS = (Kind.TEXT, Kind.TEXT, Kind.TEXT, Kind.TEXT, Kind.JSON, Kind.TIME)


class OverviewReads(Connected):
    def recent_deliveries(
        self, tenant_id: str | None, status: str | None, limit: int
    ) -> list[Delivery]:
        names, params = _filters(tenant_id=tenant_id, status=status)
        sql = self.sql.built(
            ("recent_deliveries", names),
            lambda: (
                f"SELECT {DELIVERY_SELECT} {FROM_DELIVERIES} WHERE 1 = 1{_where(names)}"
                " ORDER BY d.seq DESC LIMIT ?"
            ),
        )
        found: list[Delivery] = self.sql.delivery.many(self._all(sql, [*params, limit]))
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
        return [(int(m), str(s), int(n)) for m, s, n in rows]

    def recent_decisions(self, limit: int) -> list[dict[str, Any]]:
        sql: Sql = self.sql
        text = sql.built(
            ("recent_decisions",),
            lambda: (
                f"SELECT {', '.join(DECISION_FIELDS)} FROM fraud_decisions"
                " ORDER BY created_at DESC, id DESC LIMIT ?"
            ),
        )
        decode = [sql.dialect.decoder(k) for k in DECISION_KINDS]
        found = []
        for row in self._all(text, [limit]):
            values = [
                v if f is None or v is None else f(v) for f, v in zip(decode, row, strict=True)
            ]
            found.append(dict(zip(DECISION_FIELDS, values, strict=True)))
        return found
