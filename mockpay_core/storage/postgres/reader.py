"""PostgreSQL reads, and the row <-> record mapping the writer shares.

Column lists are the SQLite adapter's (one schema, two dialects); times arrive as aware
``datetime``s (the session runs in UTC) and JSON columns as Python values.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from psycopg import Connection

from mockpay_core.domain.fraud import FraudRule, RuleSpec
from mockpay_core.domain.model import (
    AuditEntry,
    CaptureMethod,
    Dispute,
    DisputeStatus,
    Event,
    Payment,
    Refund,
    Tenant,
)
from mockpay_core.domain.states import Status
from mockpay_core.storage.metrics import metrics
from mockpay_core.storage.postgres.deliveries import DeliveryReads
from mockpay_core.storage.protocol import PaymentFilter
from mockpay_core.storage.sqlite.reader import (
    AUDIT_COLS,
    DISPUTE_COLS,
    PAYMENT_COLS,
    REFUND_COLS,
    TENANT_COLS,
)

# "values" as text: a rule row stays hashable, so parsed rules can be cached.
RULE_COLS: Final = (
    'id, name, rule_type, action, threshold, window_secs, scope, "values"::text, is_active,'
    " created_at, updated_at"
)
Row = tuple[Any, ...]


def tenant_row(r: Row) -> Tenant:
    return Tenant(*r)


def payment_row(r: Row) -> Payment:
    return Payment(r[0], r[1], r[2], r[3], Status(r[4]), CaptureMethod(r[5]), *r[6:])


def refund_row(r: Row) -> Refund:
    return Refund(*r)


def dispute_row(r: Row) -> Dispute:
    return Dispute(r[0], r[1], r[2], r[3], r[4], r[5], DisputeStatus(r[6]), r[7], r[8])


def audit_row(r: Row) -> AuditEntry:
    return AuditEntry(*r)


@functools.lru_cache(maxsize=1024)
def rule_row(r: Row) -> FraudRule:
    """Parsed once per distinct row: rules are read on every create, and rarely change."""
    spec = RuleSpec(
        name=r[1],
        rule_type=r[2],
        action=r[3],
        threshold=None if r[4] is None else Decimal(r[4]),
        window_secs=r[5],
        scope=r[6],
        values=tuple(json.loads(r[7])),
        is_active=bool(r[8]),
    )
    return FraudRule(r[0], spec, r[9], r[10])


class PostgresReader(DeliveryReads):
    def __init__(self, conn: Connection[Row]) -> None:
        self._conn = conn

    def _one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        return self._conn.execute(sql, params).fetchone()

    def _all(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        row = self._one(f"SELECT {TENANT_COLS} FROM tenants WHERE id = %s", (tenant_id,))
        return None if row is None else tenant_row(row)

    def tenant_by_key_hash(self, key_hash: str) -> Tenant | None:
        row = self._one(f"SELECT {TENANT_COLS} FROM tenants WHERE api_key_hash = %s", (key_hash,))
        return None if row is None else tenant_row(row)

    def list_tenants(self) -> list[Tenant]:
        rows = self._all(f"SELECT {TENANT_COLS} FROM tenants ORDER BY created_at, id")
        return [tenant_row(r) for r in rows]

    def get_payment(self, tenant_id: str, payment_id: str) -> Payment | None:
        row = self._one(
            f"SELECT {PAYMENT_COLS} FROM payments WHERE id = %s AND tenant_id = %s",
            (payment_id, tenant_id),
        )
        return None if row is None else payment_row(row)

    def payment_tenant(self, payment_id: str) -> str | None:
        row = self._one("SELECT tenant_id FROM payments WHERE id = %s", (payment_id,))
        return None if row is None else str(row[0])

    def list_payments(self, tenant_id: str, where: PaymentFilter, limit: int) -> list[Payment]:
        sql = f"SELECT {PAYMENT_COLS} FROM payments WHERE tenant_id = %s"
        params: list[Any] = [tenant_id]
        if where.status is not None:
            sql += " AND status = %s"
            params.append(where.status)
        if where.currency is not None:
            sql += " AND currency = %s"
            params.append(where.currency)
        if where.before is not None:
            sql += " AND (created_at, id) < (%s, %s)"
            params += [where.before[0], where.before[1]]
        sql += " ORDER BY created_at DESC, id DESC LIMIT %s"
        params.append(limit)
        return [payment_row(r) for r in self._all(sql, params)]

    def refunds(self, tenant_id: str, payment_id: str) -> list[Refund]:
        rows = self._all(
            f"SELECT {REFUND_COLS} FROM refunds WHERE payment_id = %s AND tenant_id = %s"
            " ORDER BY created_at, id",
            (payment_id, tenant_id),
        )
        return [refund_row(r) for r in rows]

    def disputes(self, tenant_id: str, payment_id: str) -> list[Dispute]:
        rows = self._all(
            f"SELECT {DISPUTE_COLS} FROM disputes WHERE payment_id = %s AND tenant_id = %s"
            " ORDER BY created_at, id",
            (payment_id, tenant_id),
        )
        return [dispute_row(r) for r in rows]

    def audit_for_payment(self, tenant_id: str, payment_id: str) -> list[AuditEntry]:
        rows = self._all(
            f"SELECT {AUDIT_COLS} FROM audit_log WHERE payment_id = %s AND tenant_id = %s"
            " ORDER BY seq",
            (payment_id, tenant_id),
        )
        return [audit_row(r) for r in rows]

    def audit_chain(self, tenant_id: str) -> Iterator[dict[str, Any]]:
        """Rows with ``created_at`` as the chained ISO text (what the hash covers)."""
        names = [c.strip() for c in AUDIT_COLS.split(",")]
        cur = self._conn.cursor()
        cur.execute(
            f"SELECT {AUDIT_COLS} FROM audit_log WHERE tenant_id = %s ORDER BY seq", (tenant_id,)
        )
        for row in cur:
            data = dict(zip(names, row, strict=True))
            data["created_at"] = data["created_at"].isoformat(timespec="microseconds")
            yield data

    def events(self, tenant_id: str, payment_id: str | None, limit: int) -> list[Event]:
        sql = "SELECT id, tenant_id, payment_id, type, payload, created_at FROM events"
        sql += " WHERE tenant_id = %s" + (" AND payment_id = %s" if payment_id else "")
        params: tuple[Any, ...] = (tenant_id, payment_id) if payment_id else (tenant_id,)
        rows = self._all(sql + " ORDER BY created_at, id LIMIT %s", (*params, limit))
        return [Event(*r) for r in rows]

    def fraud_decisions(self, tenant_id: str, payment_id: str) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT id, outcome, evaluated, created_at FROM fraud_decisions"
            " WHERE payment_id = %s AND tenant_id = %s ORDER BY created_at, id",
            (payment_id, tenant_id),
        )
        return [{"id": r[0], "outcome": r[1], "evaluated": r[2], "created_at": r[3]} for r in rows]

    def list_rules(self) -> list[FraudRule]:
        rows = self._all(f"SELECT {RULE_COLS} FROM fraud_rules ORDER BY created_at, id")
        return [rule_row(r) for r in rows]

    def get_rule(self, rule_id: str) -> FraudRule | None:
        row = self._one(f"SELECT {RULE_COLS} FROM fraud_rules WHERE id = %s", (rule_id,))
        return None if row is None else rule_row(row)

    def due_authorizations(self, now: datetime, limit: int) -> list[Payment]:
        rows = self._all(
            f"SELECT {PAYMENT_COLS} FROM payments WHERE expires_at IS NOT NULL"
            " AND expires_at <= %s ORDER BY expires_at, id LIMIT %s",
            (now, limit),
        )
        return [payment_row(r) for r in rows]

    def next_authorization_expiry(self) -> datetime | None:
        row = self._one("SELECT min(expires_at) FROM payments WHERE expires_at IS NOT NULL", ())
        return None if row is None else row[0]

    def pending_before(self, cutoff: datetime, limit: int) -> list[Payment]:
        rows = self._all(
            f"SELECT {PAYMENT_COLS} FROM payments WHERE status = '{Status.PENDING.value}'"
            " AND created_at < %s ORDER BY created_at, id LIMIT %s",
            (cutoff, limit),
        )
        return [payment_row(r) for r in rows]

    def metrics(self, since: datetime, tenant_id: str | None) -> dict[str, Any]:
        return metrics(self._conn, "%s", since, tenant_id)

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = %s", (key,))
        return None if row is None else str(row[0])
