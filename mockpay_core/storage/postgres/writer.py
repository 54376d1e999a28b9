"""PostgreSQL writes: the unit of work, one READ COMMITTED transaction with explicit locks.

A lock taken here is held until the transaction ends; every read after it sees what the
previous holder committed. The engine takes them in one order (idempotency key, then the
payment, then the tenant for the audit chain), so they do not deadlock one another; a
deadlock that still happens is ``StorageBusy`` and the caller retries.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

from psycopg import Connection
from psycopg import errors as pgerrors

from mockpay_core.domain.fraud import (
    FRAUD_FAILURE_CODES,
    NOT_COUNTED_STATUS,
    FraudDecision,
    FraudRule,
    RuleSpec,
    WindowQuery,
)
from mockpay_core.domain.model import AuditEntry, Dispute, Event, Payment, Refund, Tenant
from mockpay_core.errors import IdempotencyKeyInUse
from mockpay_core.storage.postgres.deliveries import PENDING, DeliveryWrites
from mockpay_core.storage.postgres.reader import (
    RULE_COLS,
    PostgresReader,
    payment_row,
    rule_row,
)
from mockpay_core.storage.protocol import IdempotencyRecord
from mockpay_core.storage.sqlite.reader import PAYMENT_COLS

# Literals, matching the partial indexes of 0001_init.sql, so the planner can use them.
COUNTED_SQL: Final = (
    f"status <> '{NOT_COUNTED_STATUS}' AND coalesce(failure_code, '') NOT IN"
    f" ({', '.join(repr(c) for c in FRAUD_FAILURE_CODES)})"
)
_WINDOW_SQL: Final = f"FROM payments WHERE tenant_id = %s AND created_at > %s AND {COUNTED_SQL}"
_PAYMENT_PLACEHOLDERS: Final = ", ".join(["%s"] * len(PAYMENT_COLS.split(",")))
# Advisory-lock key spaces (the two-integer form): keys of different kinds never collide.
IDEMPOTENCY_LOCK_SPACE: Final = 0x4D50
META_LOCK_SPACE: Final = 0x4D51
_dumps: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class PostgresUnitOfWork(PostgresReader, DeliveryWrites):
    _depth = 0

    def __init__(self, conn: Connection[tuple[Any, ...]]) -> None:
        super().__init__(conn)
        self._tenants_locked: set[str] = set()

    def lock_tenant(self, tenant_id: str) -> bool:
        """The tenant's row, FOR NO KEY UPDATE: its fraud windows and audit chain are ours
        until commit. Inserts into ``payments`` (foreign-key checks) are not blocked."""
        if tenant_id in self._tenants_locked:
            return True
        row = self._one("SELECT 1 FROM tenants WHERE id = %s FOR NO KEY UPDATE", (tenant_id,))
        if row is not None:
            self._tenants_locked.add(tenant_id)
        return row is not None

    def due_authorizations(self, now: datetime, limit: int) -> list[Payment]:
        """Locked for the expiry sweep (rows another transaction holds wait for the next
        sweep), and their tenants locked up front in id order: two sweeps in two processes
        never wait for each other's tenants in opposite orders."""
        rows = self._all(
            f"SELECT {PAYMENT_COLS} FROM payments WHERE expires_at IS NOT NULL"
            " AND expires_at <= %s ORDER BY expires_at, id LIMIT %s FOR UPDATE SKIP LOCKED",
            (now, limit),
        )
        due = [payment_row(r) for r in rows]
        tenants = sorted({p.tenant_id for p in due} - self._tenants_locked)
        if tenants:
            self._all(
                "SELECT 1 FROM tenants WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                (tenants,),
            )
            self._tenants_locked.update(tenants)
        return due

    def get_meta(self, key: str) -> str | None:
        """Meta rows are read-then-written flags (``default_fraud_rules_seeded``): inside a
        unit of work the key is locked first, so two processes opening a new database at once
        do not both act on its absence."""
        self._conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (META_LOCK_SPACE, key))
        return super().get_meta(key)

    def lock_idempotency_key(self, tenant_id: str, key: str) -> None:
        """A transaction-scoped advisory lock on (tenant, key); a bounded wait (the session's
        ``lock_timeout``), then ``IdempotencyKeyInUse``."""
        try:
            self._conn.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                (IDEMPOTENCY_LOCK_SPACE, f"{tenant_id}:{key}"),
            )
        except pgerrors.LockNotAvailable:
            raise IdempotencyKeyInUse(
                f"A request with Idempotency-Key {key!r} is still running; retry later"
            ) from None

    def lock_payment(self, tenant_id: str, payment_id: str) -> Payment | None:
        row = self._one(
            f"SELECT {PAYMENT_COLS} FROM payments WHERE id = %s AND tenant_id = %s FOR UPDATE",
            (payment_id, tenant_id),
        )
        return None if row is None else payment_row(row)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self._depth += 1
        name = f"sp{self._depth}"
        self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self._conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        finally:
            self._depth -= 1
        self._conn.execute(f"RELEASE SAVEPOINT {name}")

    def email_registered(self, email: str) -> bool:
        row = self._one("SELECT 1 FROM tenants WHERE email_norm = %s", (email.casefold(),))
        return row is not None

    def insert_tenant(self, tenant: Tenant, api_key_hash: str) -> None:
        self._conn.execute(
            "INSERT INTO tenants (id, name, email, email_norm, api_key_hash, webhook_secret,"
            " rate_limit_tier, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                tenant.id, tenant.name, tenant.email, tenant.email.casefold(), api_key_hash,
                tenant.webhook_secret, tenant.rate_limit_tier, tenant.created_at,
            ),
        )  # fmt: skip

    def update_tenant(self, tenant: Tenant) -> None:
        self._conn.execute(
            "UPDATE tenants SET name = %s, webhook_secret = %s, rate_limit_tier = %s,"
            " previous_webhook_secret = %s, secret_rotated_at = %s WHERE id = %s",
            (
                tenant.name, tenant.webhook_secret, tenant.rate_limit_tier,
                tenant.previous_webhook_secret, tenant.secret_rotated_at, tenant.id,
            ),
        )  # fmt: skip

    def insert_payment(self, p: Payment) -> None:
        self._conn.execute(
            f"INSERT INTO payments ({PAYMENT_COLS}) VALUES ({_PAYMENT_PLACEHOLDERS})",
            (
                p.id, p.tenant_id, p.amount_minor, p.currency, p.status.value,
                p.capture_method.value, p.webhook_url, p.idempotency_key, p.created_at,
                p.updated_at, p.captured_minor, p.refunded_minor, p.disputed_minor,
                p.customer, p.description, _dumps(p.metadata), p.failure_code,
                p.expires_at, p.refunded_at, p.refund_reason,
            ),
        )  # fmt: skip

    def update_payment(self, p: Payment) -> None:
        self._conn.execute(
            "UPDATE payments SET status = %s, updated_at = %s, captured_minor = %s,"
            " refunded_minor = %s, disputed_minor = %s, failure_code = %s, expires_at = %s,"
            " refunded_at = %s, refund_reason = %s WHERE id = %s AND tenant_id = %s",
            (
                p.status.value, p.updated_at, p.captured_minor, p.refunded_minor,
                p.disputed_minor, p.failure_code, p.expires_at, p.refunded_at,
                p.refund_reason, p.id, p.tenant_id,
            ),
        )  # fmt: skip

    def insert_refund(self, r: Refund) -> None:
        self._conn.execute(
            "INSERT INTO refunds VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (r.id, r.payment_id, r.tenant_id, r.amount_minor, r.currency, r.reason, r.created_at),
        )

    def insert_dispute(self, d: Dispute) -> None:
        self._conn.execute(
            "INSERT INTO disputes VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (d.id, d.payment_id, d.tenant_id, d.amount_minor, d.currency, d.reason,
             d.status.value, d.created_at, d.resolved_at),
        )  # fmt: skip

    def update_dispute(self, d: Dispute) -> None:
        self._conn.execute(
            "UPDATE disputes SET status = %s, resolved_at = %s WHERE id = %s",
            (d.status.value, d.resolved_at, d.id),
        )

    def audit_head(self, tenant_id: str) -> tuple[int, str] | None:
        """The chain's head, read under the tenant's lock: one writer extends it at a time
        (commands on existing payments lock only the payment until here)."""
        self.lock_tenant(tenant_id)
        row = self._one(
            "SELECT seq, hash FROM audit_log WHERE tenant_id = %s ORDER BY seq DESC LIMIT 1",
            (tenant_id,),
        )
        return None if row is None else (int(row[0]), str(row[1]))

    def insert_audit(self, e: AuditEntry) -> None:
        self._conn.execute(
            "INSERT INTO audit_log VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                e.id, e.tenant_id, e.payment_id, e.seq, e.old_status, e.new_status, e.action,
                e.triggered_by, _dumps(e.metadata), e.created_at, e.prev_hash, e.hash,
            ),
        )  # fmt: skip

    def insert_event(self, e: Event) -> None:
        """The outbox row and its delivery, due at once."""
        self._conn.execute(
            "INSERT INTO events VALUES (%s, %s, %s, %s, %s, %s)",
            (e.id, e.tenant_id, e.payment_id, e.type, _dumps(e.payload), e.created_at),
        )
        self._conn.execute(
            "INSERT INTO deliveries (event_id, tenant_id, payment_id, status, next_attempt_at,"
            " created_at) VALUES (%s, %s, %s, %s, %s, %s)",
            (e.id, e.tenant_id, e.payment_id, PENDING, e.created_at, e.created_at),
        )

    def active_rules(self, tenant_id: str) -> list[FraudRule]:
        rows = self._all(
            f"SELECT {RULE_COLS} FROM fraud_rules WHERE is_active"
            " AND (tenant_id IS NULL OR tenant_id = %s) ORDER BY created_at, id",
            (tenant_id,),
        )
        return [rule_row(r) for r in rows]

    def window_stats(self, tenant_id: str, queries: list[WindowQuery]) -> dict[str, int]:
        stats = {}
        for q in queries:
            where = _WINDOW_SQL
            params: list[object] = [tenant_id, q.since]
            if q.customer is not None:
                where += " AND customer = %s"
                params.append(q.customer)
            if q.currency is not None:
                where += " AND currency = %s"
                params.append(q.currency)
            if q.kind == "sum":
                sql = f"SELECT coalesce(sum(amount_minor), 0) {where}"
            elif q.count_max is None:
                sql = f"SELECT count(*) {where}"
            else:  # stop counting once the rule is decided
                sql = f"SELECT count(*) FROM (SELECT 1 {where} LIMIT %s) AS w"
                params.append(q.count_max)
            row = self._one(sql, tuple(params))
            stats[q.rule_id] = 0 if row is None else int(row[0])
        return stats

    def insert_decision(self, decision_id: str, payment: Payment, decision: FraudDecision) -> None:
        self._conn.execute(
            "INSERT INTO fraud_decisions VALUES (%s, %s, %s, %s, %s, %s)",
            (
                decision_id, payment.id, payment.tenant_id, decision.outcome.value,
                _dumps(list(decision.evaluated)), payment.created_at,
            ),
        )  # fmt: skip

    def insert_rule(self, rule: FraudRule, tenant_id: str | None) -> None:
        s = rule.spec
        self._conn.execute(
            "INSERT INTO fraud_rules (tenant_id, id, name, rule_type, action, threshold,"
            ' window_secs, scope, "values", is_active, created_at, updated_at)'
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                tenant_id, rule.id, s.name, s.rule_type.value, s.action.value,
                None if s.threshold is None else str(s.threshold), s.window_secs, s.scope.value,
                _dumps(list(s.values)), s.is_active, rule.created_at, rule.updated_at,
            ),
        )  # fmt: skip

    def update_rule(self, rule_id: str, spec: RuleSpec, updated_at: datetime) -> None:
        self._conn.execute(
            "UPDATE fraud_rules SET name = %s, rule_type = %s, action = %s, threshold = %s,"
            ' window_secs = %s, scope = %s, "values" = %s, is_active = %s, updated_at = %s'
            " WHERE id = %s",
            (
                spec.name, spec.rule_type.value, spec.action.value,
                None if spec.threshold is None else str(spec.threshold), spec.window_secs,
                spec.scope.value, _dumps(list(spec.values)), spec.is_active, updated_at, rule_id,
            ),
        )  # fmt: skip

    def delete_rule(self, rule_id: str) -> bool:
        cur = self._conn.execute("DELETE FROM fraud_rules WHERE id = %s", (rule_id,))
        return cur.rowcount > 0

    def get_idempotency(self, tenant_id: str, key: str) -> IdempotencyRecord | None:
        row = self._one(
            "SELECT operation, fingerprint, succeeded, response, created_at, expires_at"
            " FROM idempotency_keys WHERE tenant_id = %s AND key = %s",
            (tenant_id, key),
        )
        return None if row is None else IdempotencyRecord(tenant_id, key, *row)

    def put_idempotency(self, r: IdempotencyRecord) -> None:
        self._conn.execute(
            "INSERT INTO idempotency_keys VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (tenant_id, key) DO UPDATE SET operation = excluded.operation,"
            " fingerprint = excluded.fingerprint, succeeded = excluded.succeeded,"
            " response = excluded.response, created_at = excluded.created_at,"
            " expires_at = excluded.expires_at",
            (
                r.tenant_id, r.key, r.operation, r.fingerprint, r.succeeded,
                _dumps(r.response), r.created_at, r.expires_at,
            ),
        )  # fmt: skip

    def purge_idempotency(self, before: datetime, limit: int) -> int:
        cur = self._conn.execute(
            "DELETE FROM idempotency_keys WHERE (tenant_id, key) IN"
            " (SELECT tenant_id, key FROM idempotency_keys WHERE expires_at <= %s LIMIT %s"
            " FOR UPDATE SKIP LOCKED)",
            (before, limit),
        )
        return cur.rowcount

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO meta VALUES (%s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
