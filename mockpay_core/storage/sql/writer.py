"""Writes, written once: the unit of work's inserts and updates, for any dialect.

How a unit of work locks what it will change differs (SQLite's writer holds the whole
database; PostgreSQL locks rows and advisory keys), so each adapter's subclass writes the
``lock_*`` methods; everything else is here.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from mockpay_core.domain.fraud import FraudDecision, FraudRule, RuleSpec, WindowQuery
from mockpay_core.domain.model import (
    AuditEntry,
    Customer,
    Dispute,
    Event,
    Payment,
    Refund,
    Tenant,
    WebhookEndpoint,
)
from mockpay_core.storage.protocol import IdempotencyRecord
from mockpay_core.storage.sql.dialect import dumps
from mockpay_core.storage.sql.ledger import LedgerWrites
from mockpay_core.storage.sql.queries import PENDING, WINDOW_SQL
from mockpay_core.storage.sql.reader import SqlReader
from mockpay_core.storage.sql.schema import Kind


class SqlUnitOfWork(SqlReader, LedgerWrites):
    """``UnitOfWork`` minus its locks (each adapter's subclass adds those)."""

    _depth = 0

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self._depth += 1
        name = f"sp{self._depth}"  # by depth: the same few statements, prepared once
        self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):  # its own error, if a statement failed
                self._settle()
            self._conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self._conn.execute(f"RELEASE SAVEPOINT {name}")
            self._rolled_back()
            raise
        finally:
            self._depth -= 1
        self._conn.execute(f"RELEASE SAVEPOINT {name}")

    def _rolled_back(self) -> None:
        """A savepoint's writes were undone (and on PostgreSQL, the locks taken inside it)."""

    def _bool(self, value: bool) -> Any:
        encode = self.sql.dialect.encoder(Kind.BOOL)
        return value if encode is None else encode(value)

    def _json(self, value: object) -> Any:
        encode = self.sql.dialect.encoder(Kind.JSON)
        return value if encode is None else encode(value)

    def email_registered(self, email: str) -> bool:
        return self._one(self.sql.email_registered, (email.casefold(),)) is not None

    def insert_tenant(self, tenant: Tenant, api_key_hash: str) -> None:
        t = tenant
        self._conn.execute(
            self.sql.insert_tenant,
            (t.id, t.name, t.email, t.email.casefold(), api_key_hash, t.webhook_secret,
             t.rate_limit_tier, self._time(t.created_at)),
        )  # fmt: skip

    def update_tenant(self, tenant: Tenant) -> None:
        t = tenant
        self._conn.execute(
            self.sql.update_tenant,
            (t.name, t.webhook_secret, t.rate_limit_tier, t.previous_webhook_secret,
             self._time(t.secret_rotated_at), t.id),
        )  # fmt: skip

    def insert_payment(self, payment: Payment) -> None:
        self._conn.execute(self.sql.insert_payment, self.sql.payment_params(payment))

    def update_payment(self, payment: Payment) -> None:
        p, at = payment, self._time
        self._conn.execute(
            self.sql.update_payment,
            (
                p.status.value, at(p.updated_at), p.captured_minor, p.refunded_minor,
                p.disputed_minor, p.failure_code, at(p.expires_at), at(p.refunded_at),
                p.refund_reason, p.description, self._json(p.metadata), p.payment_method,
                p.cancellation_reason, p.id, p.tenant_id,
            ),
        )  # fmt: skip

    def insert_refund(self, refund: Refund) -> None:
        self._conn.execute(self.sql.insert_refund, self.sql.refund_params(refund))

    def insert_dispute(self, dispute: Dispute) -> None:
        self._conn.execute(self.sql.insert_dispute, self.sql.dispute_params(dispute))

    def update_dispute(self, dispute: Dispute) -> None:
        d = dispute
        self._conn.execute(
            self.sql.update_dispute, (d.status.value, self._time(d.resolved_at), d.id, d.tenant_id)
        )

    def insert_audit(self, entry: AuditEntry) -> None:
        self._conn.execute(self.sql.insert_audit, self.sql.audit_params(entry))

    def insert_event(self, event: Event, deliver: bool = True) -> None:
        """The outbox row and (when ``deliver``) its delivery, due at once."""
        e, at = event, self._time(event.created_at)
        self._conn.execute(
            self.sql.insert_event,
            (e.id, e.tenant_id, e.payment_id, e.type, dumps(e.payload), at, e.endpoint_id),
        )
        if not deliver:
            return
        self._conn.execute(
            self.sql.insert_delivery, (e.id, e.tenant_id, e.payment_id, PENDING, at, at)
        )

    def insert_customer(self, customer: Customer) -> None:
        self._conn.execute(self.sql.insert_customer, self.sql.customer_params(customer))

    def update_customer(self, customer: Customer) -> None:
        c, at = customer, self._time
        self._conn.execute(
            self.sql.update_customer,
            (c.email, c.name, c.description, self._json(c.metadata), at(c.updated_at),
             at(c.deleted_at), c.id, c.tenant_id),
        )  # fmt: skip

    def insert_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self._conn.execute(self.sql.insert_endpoint, self.sql.endpoint_params(endpoint))

    def update_endpoint(self, endpoint: WebhookEndpoint) -> None:
        w = endpoint
        self._conn.execute(
            self.sql.update_endpoint,
            (w.url, self._json(w.enabled_events), w.status, w.description,
             self._json(w.metadata), self._time(w.deleted_at), w.id, w.tenant_id),
        )  # fmt: skip

    def endpoints_for(self, tenant_id: str, event_type: str) -> list[WebhookEndpoint]:
        found: list[WebhookEndpoint] = self.sql.endpoint.many(
            self._all(self.sql.endpoints_for, (tenant_id,))
        )
        return [w for w in found if w.wants(event_type)]

    def active_rules(self, tenant_id: str) -> list[FraudRule]:
        return self._rules(self._all(self.sql.active_rules, (tenant_id,)))

    def window_stats(self, tenant_id: str, queries: list[WindowQuery]) -> dict[str, int]:
        stats = {}
        for q in queries:
            row = self._one(*self._window_statement(tenant_id, q))
            stats[q.rule_id] = 0 if row is None else int(row[0])
        return stats

    def expect_window_stats(
        self, tenant_id: str, queries_for: Callable[[list[FraudRule]], list[WindowQuery]]
    ) -> None:
        """Nothing to send ahead here (a pipelining adapter overrides it)."""

    def _window_statement(self, tenant_id: str, q: WindowQuery) -> tuple[str, list[object]]:
        params: list[object] = [tenant_id, self._time(q.since)]
        if q.customer is not None:
            params.append(q.customer)
        if q.currency is not None:
            params.append(q.currency)
        shape = (q.kind, q.count_max is not None, q.customer is not None, q.currency is not None)
        if q.count_max is not None and q.kind != "sum":
            params.append(q.count_max)
        return self.sql.built(("window", *shape), functools.partial(_window, *shape)), params

    def insert_decision(self, decision_id: str, payment: Payment, decision: FraudDecision) -> None:
        self._conn.execute(
            self.sql.insert_decision,
            (decision_id, payment.id, payment.tenant_id, decision.outcome.value,
             dumps(list(decision.evaluated)), self._time(payment.created_at)),
        )  # fmt: skip

    def insert_rule(self, rule: FraudRule, tenant_id: str | None) -> None:
        s = rule.spec
        self._conn.execute(
            self.sql.insert_rule,
            (
                rule.id, tenant_id, s.name, s.rule_type.value, s.action.value,
                None if s.threshold is None else str(s.threshold), s.window_secs, s.scope.value,
                dumps(list(s.values)), self._bool(s.is_active), self._time(rule.created_at),
                self._time(rule.updated_at),
            ),
        )  # fmt: skip

    def update_rule(self, rule_id: str, spec: RuleSpec, updated_at: datetime) -> None:
        s = spec
        self._conn.execute(
            self.sql.update_rule,
            (
                s.name, s.rule_type.value, s.action.value,
                None if s.threshold is None else str(s.threshold), s.window_secs, s.scope.value,
                dumps(list(s.values)), self._bool(s.is_active), self._time(updated_at), rule_id,
            ),
        )  # fmt: skip

    def delete_rule(self, rule_id: str) -> bool:
        return self._count(self.sql.delete_rule, (rule_id,)) > 0

    def get_idempotency(self, tenant_id: str, key: str) -> IdempotencyRecord | None:
        row = self._one(self.sql.get_idempotency, (tenant_id, key))
        return None if row is None else self.sql.idempotency(row)

    def put_idempotency(self, record: IdempotencyRecord) -> None:
        """Insert, or replace an expired record with the same key."""
        self._conn.execute(self.sql.put_idempotency, self.sql.idempotency_params(record))

    def purge_idempotency(self, before: datetime, limit: int) -> int:
        return self._count(self.sql.purge_idempotency, (self._time(before), limit))

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute(self.sql.set_meta, (key, value))


def _window(kind: str, bounded: bool, customer: bool, currency: bool) -> str:
    where = WINDOW_SQL + (" AND customer = ?" if customer else "")
    where += " AND currency = ?" if currency else ""
    if kind == "sum":
        return f"SELECT coalesce(sum(amount_minor), 0) {where}"
    if not bounded:
        return f"SELECT count(*) {where}"
    return f"SELECT count(*) FROM (SELECT 1 {where} LIMIT ?) AS w"  # stop once decided
