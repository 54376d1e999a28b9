"""SQLite writes: the unit of work, inside the store's ``BEGIN IMMEDIATE`` transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Final

from mockpay_core.domain.fraud import (
    FRAUD_FAILURE_CODES,
    NOT_COUNTED_STATUS,
    FraudDecision,
    FraudRule,
    RuleSpec,
    WindowQuery,
)
from mockpay_core.domain.model import AuditEntry, Dispute, Event, Payment, Refund, Tenant
from mockpay_core.storage.protocol import IdempotencyRecord
from mockpay_core.storage.sqlite.deliveries import PENDING, DeliveryWrites
from mockpay_core.storage.sqlite.reader import PAYMENT_COLS, RULE_COLS, SqliteReader, rule_row, ts

# Literals, matching the partial indexes of 0003_fraud_windows.sql, for SQLite to use them.
COUNTED_SQL: Final = (
    f"status <> '{NOT_COUNTED_STATUS}' AND coalesce(failure_code, '') NOT IN"
    f" ({', '.join(repr(c) for c in FRAUD_FAILURE_CODES)})"
)
_WINDOW_SQL: Final = f"FROM payments WHERE tenant_id = ? AND created_at > ? AND {COUNTED_SQL}"

_PAYMENT_PLACEHOLDERS: Final = ", ".join("?" * len(PAYMENT_COLS.split(",")))


def _opt_ts(when: datetime | None) -> str | None:
    return None if when is None else ts(when)


_dumps: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class SqliteUnitOfWork(SqliteReader, DeliveryWrites):
    _depth = 0

    def lock_tenant(self, tenant_id: str) -> bool:
        """BEGIN IMMEDIATE already holds the database's write lock: only check existence."""
        return self._one("SELECT 1 FROM tenants WHERE id = ?", (tenant_id,)) is not None

    def lock_idempotency_key(self, tenant_id: str, key: str) -> None:
        """Nothing to do: BEGIN IMMEDIATE already holds the database's write lock."""

    def lock_payment(self, tenant_id: str, payment_id: str) -> Payment | None:
        return self.get_payment(tenant_id, payment_id)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self._depth += 1
        name = f"sp{self._depth}"  # by depth: the same few statements, prepared once
        self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._depth -= 1
        self._conn.execute(f"RELEASE {name}")

    def email_registered(self, email: str) -> bool:
        row = self._one("SELECT 1 FROM tenants WHERE email_norm = ?", (email.casefold(),))
        return row is not None

    def insert_tenant(self, tenant: Tenant, api_key_hash: str) -> None:
        self._conn.execute(
            "INSERT INTO tenants (id, name, email, email_norm, api_key_hash, webhook_secret,"
            " rate_limit_tier, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                tenant.id, tenant.name, tenant.email, tenant.email.casefold(), api_key_hash,
                tenant.webhook_secret, tenant.rate_limit_tier, ts(tenant.created_at),
            ),
        )  # fmt: skip

    def update_tenant(self, tenant: Tenant) -> None:
        self._conn.execute(
            "UPDATE tenants SET name = ?, webhook_secret = ?, rate_limit_tier = ?,"
            " previous_webhook_secret = ?, secret_rotated_at = ? WHERE id = ?",
            (
                tenant.name, tenant.webhook_secret, tenant.rate_limit_tier,
                tenant.previous_webhook_secret, _opt_ts(tenant.secret_rotated_at), tenant.id,
            ),
        )  # fmt: skip

    def insert_payment(self, p: Payment) -> None:
        self._conn.execute(
            f"INSERT INTO payments VALUES ({_PAYMENT_PLACEHOLDERS})",
            (
                p.id, p.tenant_id, p.amount_minor, p.currency, p.status.value,
                p.capture_method.value, p.webhook_url, p.idempotency_key, ts(p.created_at),
                ts(p.updated_at), p.captured_minor, p.refunded_minor, p.disputed_minor,
                p.customer, p.description, _dumps(p.metadata), p.failure_code,
                _opt_ts(p.expires_at), _opt_ts(p.refunded_at), p.refund_reason,
            ),
        )  # fmt: skip

    def update_payment(self, p: Payment) -> None:
        self._conn.execute(
            "UPDATE payments SET status = ?, updated_at = ?, captured_minor = ?,"
            " refunded_minor = ?, disputed_minor = ?, failure_code = ?, expires_at = ?,"
            " refunded_at = ?, refund_reason = ? WHERE id = ? AND tenant_id = ?",
            (
                p.status.value, ts(p.updated_at), p.captured_minor, p.refunded_minor,
                p.disputed_minor, p.failure_code, _opt_ts(p.expires_at), _opt_ts(p.refunded_at),
                p.refund_reason, p.id, p.tenant_id,
            ),
        )  # fmt: skip

    def insert_refund(self, r: Refund) -> None:
        self._conn.execute(
            "INSERT INTO refunds VALUES (?, ?, ?, ?, ?, ?, ?)",
            (r.id, r.payment_id, r.tenant_id, r.amount_minor, r.currency, r.reason,
             ts(r.created_at)),
        )  # fmt: skip

    def insert_dispute(self, d: Dispute) -> None:
        self._conn.execute(
            "INSERT INTO disputes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (d.id, d.payment_id, d.tenant_id, d.amount_minor, d.currency, d.reason,
             d.status.value, ts(d.created_at), _opt_ts(d.resolved_at)),
        )  # fmt: skip

    def update_dispute(self, d: Dispute) -> None:
        self._conn.execute(
            "UPDATE disputes SET status = ?, resolved_at = ? WHERE id = ?",
            (d.status.value, _opt_ts(d.resolved_at), d.id),
        )

    def audit_head(self, tenant_id: str) -> tuple[int, str] | None:
        row = self._one(
            "SELECT seq, hash FROM audit_log WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1",
            (tenant_id,),
        )
        return None if row is None else (int(row[0]), str(row[1]))

    def insert_audit(self, e: AuditEntry) -> None:
        self._conn.execute(
            "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                e.id, e.tenant_id, e.payment_id, e.seq, e.old_status, e.new_status, e.action,
                e.triggered_by, _dumps(e.metadata), ts(e.created_at), e.prev_hash, e.hash,
            ),
        )  # fmt: skip

    def insert_event(self, e: Event) -> None:
        """The outbox row and its delivery, due at once."""
        at = ts(e.created_at)
        self._conn.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
            (e.id, e.tenant_id, e.payment_id, e.type, _dumps(e.payload), at),
        )
        self._conn.execute(
            "INSERT INTO deliveries (event_id, tenant_id, payment_id, status, next_attempt_at,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (e.id, e.tenant_id, e.payment_id, PENDING, at, at),
        )

    def active_rules(self, tenant_id: str) -> list[FraudRule]:
        rows = self._conn.execute(
            f"SELECT {RULE_COLS} FROM fraud_rules WHERE is_active = 1"
            " AND (tenant_id IS NULL OR tenant_id = ?) ORDER BY created_at, id",
            (tenant_id,),
        )
        return [rule_row(r) for r in rows]

    def window_stats(self, tenant_id: str, queries: list[WindowQuery]) -> dict[str, int]:
        stats = {}
        for q in queries:
            where = _WINDOW_SQL
            params: list[object] = [tenant_id, ts(q.since)]
            if q.customer is not None:
                where += " AND customer = ?"
                params.append(q.customer)
            if q.currency is not None:
                where += " AND currency = ?"
                params.append(q.currency)
            if q.kind == "sum":
                sql = f"SELECT total(amount_minor) {where}"
            elif q.count_max is None:
                sql = f"SELECT count(*) {where}"
            else:  # stop counting once the rule is decided
                sql = f"SELECT count(*) FROM (SELECT 1 {where} LIMIT ?) AS w"
                params.append(q.count_max)
            row = self._conn.execute(sql, params).fetchone()
            stats[q.rule_id] = 0 if row is None else int(row[0])
        return stats

    def insert_decision(self, decision_id: str, payment: Payment, decision: FraudDecision) -> None:
        self._conn.execute(
            "INSERT INTO fraud_decisions VALUES (?, ?, ?, ?, ?, ?)",
            (
                decision_id, payment.id, payment.tenant_id, decision.outcome.value,
                _dumps(list(decision.evaluated)), ts(payment.created_at),
            ),
        )  # fmt: skip

    def insert_rule(self, rule: FraudRule, tenant_id: str | None) -> None:
        s = rule.spec
        self._conn.execute(
            f"INSERT INTO fraud_rules (tenant_id, {RULE_COLS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                tenant_id, rule.id, s.name, s.rule_type.value, s.action.value,
                None if s.threshold is None else str(s.threshold), s.window_secs, s.scope.value,
                _dumps(list(s.values)), int(s.is_active), ts(rule.created_at), ts(rule.updated_at),
            ),
        )  # fmt: skip

    def update_rule(self, rule_id: str, spec: RuleSpec, updated_at: datetime) -> None:
        self._conn.execute(
            "UPDATE fraud_rules SET name = ?, rule_type = ?, action = ?, threshold = ?,"
            ' window_secs = ?, scope = ?, "values" = ?, is_active = ?, updated_at = ?'
            " WHERE id = ?",
            (
                spec.name, spec.rule_type.value, spec.action.value,
                None if spec.threshold is None else str(spec.threshold), spec.window_secs,
                spec.scope.value, _dumps(list(spec.values)), int(spec.is_active),
                ts(updated_at), rule_id,
            ),
        )  # fmt: skip

    def delete_rule(self, rule_id: str) -> bool:
        cur = self._conn.execute("DELETE FROM fraud_rules WHERE id = ?", (rule_id,))
        return cur.rowcount > 0

    def get_idempotency(self, tenant_id: str, key: str) -> IdempotencyRecord | None:
        row = self._one(
            "SELECT operation, fingerprint, succeeded, response, created_at, expires_at"
            " FROM idempotency_keys WHERE tenant_id = ? AND key = ?",
            (tenant_id, key),
        )
        if row is None:
            return None
        return IdempotencyRecord(
            tenant_id, key, row[0], row[1], bool(row[2]), json.loads(row[3]),
            datetime.fromisoformat(row[4]), datetime.fromisoformat(row[5]),
        )  # fmt: skip

    def put_idempotency(self, r: IdempotencyRecord) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO idempotency_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.tenant_id, r.key, r.operation, r.fingerprint, int(r.succeeded),
                _dumps(r.response), ts(r.created_at), ts(r.expires_at),
            ),
        )  # fmt: skip

    def purge_idempotency(self, before: datetime, limit: int) -> int:
        cur = self._conn.execute(
            "DELETE FROM idempotency_keys WHERE (tenant_id, key) IN"
            " (SELECT tenant_id, key FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)",
            (ts(before), limit),
        )
        return cur.rowcount

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
