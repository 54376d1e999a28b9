"""SQLite reads, and the row <-> record mapping the writer shares."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

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
from mockpay_core.storage.protocol import PaymentFilter
from mockpay_core.storage.sqlite.deliveries import DeliveryReads

TENANT_COLS: Final = (
    "id, name, email, webhook_secret, rate_limit_tier, created_at,"
    " previous_webhook_secret, secret_rotated_at"
)
PAYMENT_COLS: Final = (
    "id, tenant_id, amount_minor, currency, status, capture_method, webhook_url,"
    " idempotency_key, created_at, updated_at, captured_minor, refunded_minor,"
    " disputed_minor, customer, description, metadata, failure_code, expires_at,"
    " refunded_at, refund_reason"
)
REFUND_COLS: Final = "id, payment_id, tenant_id, amount_minor, currency, reason, created_at"
DISPUTE_COLS: Final = (
    "id, payment_id, tenant_id, amount_minor, currency, reason, status, created_at, resolved_at"
)
AUDIT_COLS: Final = (
    "id, tenant_id, payment_id, seq, old_status, new_status, action, triggered_by,"
    " metadata, created_at, prev_hash, hash"
)
RULE_COLS: Final = (
    'id, name, rule_type, action, threshold, window_secs, scope, "values", is_active,'
    " created_at, updated_at"
)

_dt = datetime.fromisoformat


@functools.lru_cache(maxsize=256)
def ts(when: datetime) -> str:
    """Times are stored as fixed-width ISO 8601 UTC text, which sorts in time order. Cached:
    one unit of work formats the same instant many times."""
    return when.isoformat(timespec="microseconds")


def _opt_dt(text: str | None) -> datetime | None:
    return None if text is None else _dt(text)


def tenant_row(r: tuple[Any, ...]) -> Tenant:
    return Tenant(r[0], r[1], r[2], r[3], r[4], _dt(r[5]), r[6], _opt_dt(r[7]))


def payment_row(r: tuple[Any, ...]) -> Payment:
    return Payment(
        r[0], r[1], r[2], r[3], Status(r[4]), CaptureMethod(r[5]), r[6], r[7],
        _dt(r[8]), _dt(r[9]), r[10], r[11], r[12], r[13], r[14], json.loads(r[15]),
        r[16], _opt_dt(r[17]), _opt_dt(r[18]), r[19],
    )  # fmt: skip


def refund_row(r: tuple[Any, ...]) -> Refund:
    return Refund(r[0], r[1], r[2], r[3], r[4], r[5], _dt(r[6]))


def dispute_row(r: tuple[Any, ...]) -> Dispute:
    return Dispute(
        r[0], r[1], r[2], r[3], r[4], r[5], DisputeStatus(r[6]), _dt(r[7]), _opt_dt(r[8])
    )


def audit_row(r: tuple[Any, ...]) -> AuditEntry:
    return AuditEntry(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]), _dt(r[9]), r[10], r[11]
    )


@functools.lru_cache(maxsize=1024)
def rule_row(r: tuple[Any, ...]) -> FraudRule:
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
    return FraudRule(r[0], spec, _dt(r[9]), _dt(r[10]))


class SqliteReader(DeliveryReads):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._conn.execute(sql, params).fetchone()
        return row

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        row = self._one(f"SELECT {TENANT_COLS} FROM tenants WHERE id = ?", (tenant_id,))
        return None if row is None else tenant_row(row)

    def tenant_by_key_hash(self, key_hash: str) -> Tenant | None:
        row = self._one(f"SELECT {TENANT_COLS} FROM tenants WHERE api_key_hash = ?", (key_hash,))
        return None if row is None else tenant_row(row)

    def list_tenants(self) -> list[Tenant]:
        rows = self._conn.execute(f"SELECT {TENANT_COLS} FROM tenants ORDER BY created_at, id")
        return [tenant_row(r) for r in rows]

    def get_payment(self, tenant_id: str, payment_id: str) -> Payment | None:
        row = self._one(
            f"SELECT {PAYMENT_COLS} FROM payments WHERE id = ? AND tenant_id = ?",
            (payment_id, tenant_id),
        )
        return None if row is None else payment_row(row)

    def payment_tenant(self, payment_id: str) -> str | None:
        row = self._one("SELECT tenant_id FROM payments WHERE id = ?", (payment_id,))
        return None if row is None else str(row[0])

    def list_payments(self, tenant_id: str, where: PaymentFilter, limit: int) -> list[Payment]:
        sql = f"SELECT {PAYMENT_COLS} FROM payments WHERE tenant_id = ?"
        params: list[Any] = [tenant_id]
        if where.status is not None:
            sql += " AND status = ?"
            params.append(where.status)
        if where.currency is not None:
            sql += " AND currency = ?"
            params.append(where.currency)
        if where.before is not None:
            sql += " AND (created_at, id) < (?, ?)"
            params += [ts(where.before[0]), where.before[1]]
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        params.append(limit)
        return [payment_row(r) for r in self._conn.execute(sql, params)]

    def refunds(self, tenant_id: str, payment_id: str) -> list[Refund]:
        rows = self._conn.execute(
            f"SELECT {REFUND_COLS} FROM refunds WHERE payment_id = ? AND tenant_id = ?"
            " ORDER BY created_at, id",
            (payment_id, tenant_id),
        )
        return [refund_row(r) for r in rows]

    def disputes(self, tenant_id: str, payment_id: str) -> list[Dispute]:
        rows = self._conn.execute(
            f"SELECT {DISPUTE_COLS} FROM disputes WHERE payment_id = ? AND tenant_id = ?"
            " ORDER BY created_at, id",
            (payment_id, tenant_id),
        )
        return [dispute_row(r) for r in rows]

    def audit_for_payment(self, tenant_id: str, payment_id: str) -> list[AuditEntry]:
        rows = self._conn.execute(
            f"SELECT {AUDIT_COLS} FROM audit_log WHERE payment_id = ? AND tenant_id = ?"
            " ORDER BY seq",
            (payment_id, tenant_id),
        )
        return [audit_row(r) for r in rows]

    def audit_chain(self, tenant_id: str) -> Iterator[dict[str, Any]]:
        cur = self._conn.execute(
            f"SELECT {AUDIT_COLS} FROM audit_log WHERE tenant_id = ? ORDER BY seq", (tenant_id,)
        )
        names = [c.strip() for c in AUDIT_COLS.split(",")]
        for row in cur:
            data = dict(zip(names, row, strict=True))
            data["metadata"] = json.loads(data["metadata"])
            yield data

    def events(self, tenant_id: str, payment_id: str | None, limit: int) -> list[Event]:
        sql = "SELECT id, tenant_id, payment_id, type, payload, created_at FROM events"
        sql += " WHERE tenant_id = ?" + (" AND payment_id = ?" if payment_id else "")
        params: tuple[Any, ...] = (tenant_id, payment_id) if payment_id else (tenant_id,)
        rows = self._conn.execute(sql + " ORDER BY created_at, id LIMIT ?", (*params, limit))
        return [Event(r[0], r[1], r[2], r[3], json.loads(r[4]), _dt(r[5])) for r in rows]

    def fraud_decisions(self, tenant_id: str, payment_id: str) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT id, outcome, evaluated, created_at FROM fraud_decisions"
            " WHERE payment_id = ? AND tenant_id = ? ORDER BY created_at, id",
            (payment_id, tenant_id),
        )
        return [
            {"id": r[0], "outcome": r[1], "evaluated": json.loads(r[2]), "created_at": _dt(r[3])}
            for r in rows
        ]

    def list_rules(self) -> list[FraudRule]:
        rows = self._conn.execute(f"SELECT {RULE_COLS} FROM fraud_rules ORDER BY created_at, id")
        return [rule_row(r) for r in rows]

    def get_rule(self, rule_id: str) -> FraudRule | None:
        row = self._one(f"SELECT {RULE_COLS} FROM fraud_rules WHERE id = ?", (rule_id,))
        return None if row is None else rule_row(row)

    def due_authorizations(self, now: datetime, limit: int) -> list[Payment]:
        rows = self._conn.execute(
            f"SELECT {PAYMENT_COLS} FROM payments WHERE expires_at IS NOT NULL"
            " AND expires_at <= ? ORDER BY expires_at, id LIMIT ?",
            (ts(now), limit),
        )
        return [payment_row(r) for r in rows]

    def next_authorization_expiry(self) -> datetime | None:
        row = self._one("SELECT min(expires_at) FROM payments WHERE expires_at IS NOT NULL", ())
        return None if row is None or row[0] is None else _dt(row[0])

    def pending_before(self, cutoff: datetime, limit: int) -> list[Payment]:
        rows = self._conn.execute(
            f"SELECT {PAYMENT_COLS} FROM payments WHERE status = '{Status.PENDING.value}'"
            " AND created_at < ? ORDER BY created_at, id LIMIT ?",
            (ts(cutoff), limit),
        )
        return [payment_row(r) for r in rows]

    def metrics(self, since: datetime, tenant_id: str | None) -> dict[str, Any]:
        return metrics(self._conn, "?", ts(since), tenant_id)

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])
