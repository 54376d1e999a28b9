"""The engine's statements, written once and rendered per dialect at import.

``Sql(dialect)`` holds every fixed statement as the driver's own text (so SQLite's
statement cache and psycopg's prepared statements see the same strings each time), the row
mappers and INSERT parameter builders bound to the dialect's codecs, and a cache for the
few statements built from optional filters (one fixed string per combination).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from mockpay_core.domain.delivery import Attempt, Delivery
from mockpay_core.domain.fraud import FRAUD_FAILURE_CODES, NOT_COUNTED_STATUS
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
from mockpay_core.domain.retry import DeliveryStatus
from mockpay_core.domain.states import Status
from mockpay_core.storage.protocol import IdempotencyRecord
from mockpay_core.storage.sql import schema as s
from mockpay_core.storage.sql.dialect import Dialect, Mapper, Params
from mockpay_core.storage.sql.ledger_sql import LedgerSql
from mockpay_core.storage.sql.schema import Kind, Table, quoted

# Literals, not parameters: a partial index is used only when the query names its values.
PENDING: Final = DeliveryStatus.PENDING.value
DELIVERING: Final = DeliveryStatus.DELIVERING.value
DELIVERED: Final = DeliveryStatus.DELIVERED.value
DEAD: Final = DeliveryStatus.DEAD.value
# What fraud windows count, spelled as the partial indexes payments_window spell it.
COUNTED_SQL: Final = (
    f"status <> '{NOT_COUNTED_STATUS}' AND coalesce(failure_code, '') NOT IN"
    f" ({', '.join(repr(c) for c in FRAUD_FAILURE_CODES)})"
)
WINDOW_SQL: Final = f"FROM payments WHERE tenant_id = ? AND created_at > ? AND {COUNTED_SQL}"


def first_open(dialect: Dialect) -> str:
    """Per-payment order: a delivery waits while an earlier one of its payment is open."""
    return (
        "NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.tenant_id = d.tenant_id"
        " AND o.payment_id = d.payment_id"
        f" AND o.seq < d.seq AND o.status IN ('{PENDING}', '{DELIVERING}'){dialect.fence})"
    )


# A delivery as the API shows it: the row and its event's type and payload.
DELIVERY_ITEMS: Final = (
    ("d.event_id", "event_id", Kind.TEXT), ("d.tenant_id", "tenant_id", Kind.TEXT),
    ("d.payment_id", "payment_id", Kind.TEXT), ("e.type", "event_type", Kind.TEXT),
    ("d.status", "status", Kind.TEXT), ("d.attempts", "attempts", Kind.INT),
    ("d.next_attempt_at", "next_attempt_at", Kind.TIME), ("d.created_at", "created_at", Kind.TIME),
    ("d.last_error", "last_error", Kind.TEXT), ("d.delivered_at", "delivered_at", Kind.TIME),
    ("d.dead_at", "dead_at", Kind.TIME), ("d.dead_reason", "dead_reason", Kind.TEXT),
    ("e.payload", "payload", Kind.JSON),
)  # fmt: skip
TENANT_FIELDS: Final = (
    "id", "name", "email", "webhook_secret", "rate_limit_tier", "created_at",
    "previous_webhook_secret", "secret_rotated_at",
)  # fmt: skip
RULE_FIELDS: Final = (
    "id", "name", "rule_type", "action", "threshold", "window_secs", "scope", "values",
    "is_active", "created_at", "updated_at",
)  # fmt: skip


def columns(table: Table, names: Sequence[str] | None = None) -> list[tuple[str, Kind]]:
    """(name, kind) of ``names`` of ``table`` (all of them by default), in that order."""
    return [(n, table.kind(n)) for n in (names or table.names)]


def select_list(names: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + quoted(n) for n in names)


def insert(table: Table, names: Sequence[str] | None = None) -> str:
    """An INSERT naming its columns (all of the table's by default)."""
    names = names or table.names
    return f"INSERT INTO {table.name} ({select_list(names)}) VALUES ({', '.join('?' * len(names))})"


class Sql:
    """Every statement, mapper and parameter builder of one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = d = dialect
        self._built: dict[tuple[Any, ...], str] = {}
        r = d.render
        tenant, payment = select_list(TENANT_FIELDS), select_list(s.PAYMENTS.names)
        rule = (
            select_list(RULE_FIELDS[:7])
            + f", {d.json_text(quoted('values'))}, "
            + (select_list(RULE_FIELDS[8:]))
        )
        self.tenant = Mapper(d, columns(s.TENANTS, TENANT_FIELDS), Tenant)
        self.payment = Mapper(d, s.PAYMENTS.columns, Payment)
        self.refund = Mapper(d, s.REFUNDS.columns, Refund)
        self.dispute = Mapper(d, s.DISPUTES.columns, Dispute)
        self.audit = Mapper(d, s.AUDIT_LOG.columns, AuditEntry)
        self.event = Mapper(d, s.EVENTS.columns, Event)
        self.idempotency = Mapper(d, s.IDEMPOTENCY_KEYS.columns, IdempotencyRecord)
        self.attempt = Mapper(d, s.DELIVERY_ATTEMPTS.columns, Attempt)
        self.delivery = Mapper(d, [(n, k) for _, n, k in DELIVERY_ITEMS], Delivery)
        self.decision = Mapper(d, columns(s.FRAUD_DECISIONS, ("id", "outcome", "evaluated",
                               "created_at")), dict)  # fmt: skip
        self.decision_row = Mapper(d, s.FRAUD_DECISIONS.columns, dict)  # every column
        self.payment_params = Params(d, s.PAYMENTS.columns)
        self.audit_params = Params(d, s.AUDIT_LOG.columns)
        self.refund_params = Params(d, s.REFUNDS.columns)
        self.dispute_params = Params(d, s.DISPUTES.columns)
        self.attempt_params = Params(d, s.DELIVERY_ATTEMPTS.columns)
        self.idempotency_params = Params(d, s.IDEMPOTENCY_KEYS.columns)
        self.customer = Mapper(d, s.CUSTOMERS.columns, Customer)
        self.customer_params = Params(d, s.CUSTOMERS.columns)
        customer = f"SELECT {select_list(s.CUSTOMERS.names)} FROM customers WHERE tenant_id = ?"
        self.get_customer = r(f"{customer} AND id = ?")
        newest = " AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT ?"
        self.list_customers = r(customer + newest)
        self.list_customers_by_email = r(f"{customer} AND email = ?{newest}")
        self.endpoint = Mapper(d, s.WEBHOOK_ENDPOINTS.columns, WebhookEndpoint)
        self.endpoint_params = Params(d, s.WEBHOOK_ENDPOINTS.columns)
        endpoint = select_list(s.WEBHOOK_ENDPOINTS.names)
        self.get_endpoint = r(
            f"SELECT {endpoint} FROM webhook_endpoints WHERE id = ? AND tenant_id = ?"
        )
        self.list_endpoints = r(
            f"SELECT {endpoint} FROM webhook_endpoints WHERE tenant_id = ?"
            " AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        self.endpoints_for = r(
            f"SELECT {endpoint} FROM webhook_endpoints WHERE tenant_id = ?"
            " AND deleted_at IS NULL AND status = 'enabled' ORDER BY created_at, id"
        )

        self.get_tenant = r(f"SELECT {tenant} FROM tenants WHERE id = ?")
        self.tenant_by_key_hash = r(f"SELECT {tenant} FROM tenants WHERE api_key_hash = ?")
        self.list_tenants = r(f"SELECT {tenant} FROM tenants ORDER BY created_at, id")
        self.get_payment = r(f"SELECT {payment} FROM payments WHERE id = ? AND tenant_id = ?")
        self.lock_payment = r(
            f"SELECT {payment} FROM payments WHERE id = ? AND tenant_id = ?{d.for_update}"
        )
        self.payment_tenant = r("SELECT tenant_id FROM payments WHERE id = ?")
        self.refunds = r(
            f"SELECT {select_list(s.REFUNDS.names)} FROM refunds"
            " WHERE payment_id = ? AND tenant_id = ? ORDER BY created_at, id"
        )
        self.disputes = r(
            f"SELECT {select_list(s.DISPUTES.names)} FROM disputes"
            " WHERE payment_id = ? AND tenant_id = ? ORDER BY created_at, id"
        )
        audit = select_list(s.AUDIT_LOG.names)
        self.audit_for_payment = r(
            f"SELECT {audit} FROM audit_log WHERE payment_id = ? AND tenant_id = ? ORDER BY seq"
        )
        self.audit_chain = r(f"SELECT {audit} FROM audit_log WHERE tenant_id = ? ORDER BY seq")
        self.audit_head = r(
            "SELECT seq, hash FROM audit_log WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1"
        )
        events = (  # an endpoint's copies are deliveries, not events of their own
            f"SELECT {select_list(s.EVENTS.names)} FROM events WHERE tenant_id = ?"
            " AND endpoint_id IS NULL"
        )
        self.events = r(f"{events} ORDER BY created_at, id LIMIT ?")
        self.latest_events = r(f"{events} ORDER BY created_at DESC, id DESC LIMIT ?")
        self.events_sql = events  # the latest of some types: built per count of types
        self.payment_events = r(f"{events} AND payment_id = ? ORDER BY created_at, id LIMIT ?")
        self.fraud_decisions = r(
            "SELECT id, outcome, evaluated, created_at FROM fraud_decisions"
            " WHERE payment_id = ? AND tenant_id = ? ORDER BY created_at, id"
        )
        self.list_rules = r(f"SELECT {rule} FROM fraud_rules ORDER BY created_at, id")
        self.get_rule = r(f"SELECT {rule} FROM fraud_rules WHERE id = ?")
        self.active_rules = r(
            f"SELECT {rule} FROM fraud_rules WHERE is_active = TRUE"
            " AND (tenant_id IS NULL OR tenant_id = ?) ORDER BY created_at, id"
        )
        self.due_authorizations = r(
            f"SELECT {payment} FROM payments WHERE expires_at IS NOT NULL AND expires_at <= ?"
            " ORDER BY expires_at, id LIMIT ?"
        )
        self.next_authorization_expiry = r(
            "SELECT min(expires_at) FROM payments WHERE expires_at IS NOT NULL"
        )
        self.pending_before = r(
            f"SELECT {payment} FROM payments WHERE status = '{Status.PENDING.value}'"
            " AND created_at < ? ORDER BY created_at, id LIMIT ?"
        )
        self.get_meta = r("SELECT value FROM meta WHERE key = ?")
        self.ledger = LedgerSql(d)
        self._writes(d)
        self._deliveries(d)

    def _writes(self, d: Dialect) -> None:
        r = d.render
        self.lock_tenant = r(f"SELECT 1 FROM tenants WHERE id = ?{d.for_no_key_update}")
        self.email_registered = r("SELECT 1 FROM tenants WHERE email_norm = ?")
        self.insert_tenant = r(insert(s.TENANTS, s.TENANTS.names[:8]))
        self.update_tenant = r(
            "UPDATE tenants SET name = ?, webhook_secret = ?, rate_limit_tier = ?,"
            " previous_webhook_secret = ?, secret_rotated_at = ? WHERE id = ?"
        )
        self.insert_payment = r(insert(s.PAYMENTS))
        self.update_payment = r(
            "UPDATE payments SET status = ?, updated_at = ?, captured_minor = ?,"
            " refunded_minor = ?, disputed_minor = ?, failure_code = ?, expires_at = ?,"
            " refunded_at = ?, refund_reason = ?, description = ?, metadata = ?,"
            " payment_method = ?, cancellation_reason = ? WHERE id = ? AND tenant_id = ?"
        )
        self.insert_refund = r(insert(s.REFUNDS))
        self.insert_dispute = r(insert(s.DISPUTES))
        self.update_dispute = r(
            "UPDATE disputes SET status = ?, resolved_at = ? WHERE id = ? AND tenant_id = ?"
        )
        self.insert_audit = r(insert(s.AUDIT_LOG))
        self.insert_event = r(insert(s.EVENTS))
        self.insert_customer = r(insert(s.CUSTOMERS))
        self.update_customer = r(
            "UPDATE customers SET email = ?, name = ?, description = ?, metadata = ?,"
            " updated_at = ?, deleted_at = ? WHERE id = ? AND tenant_id = ?"
        )
        self.insert_endpoint = r(insert(s.WEBHOOK_ENDPOINTS))
        self.update_endpoint = r(
            "UPDATE webhook_endpoints SET url = ?, enabled_events = ?, status = ?,"
            " description = ?, metadata = ?, deleted_at = ? WHERE id = ? AND tenant_id = ?"
        )
        self.insert_delivery = r(
            insert(s.DELIVERIES, ("event_id", "tenant_id", "payment_id", "status",
                                  "next_attempt_at", "created_at"))
        )  # fmt: skip
        self.insert_decision = r(insert(s.FRAUD_DECISIONS))
        self.insert_rule = r(insert(s.FRAUD_RULES))
        self.update_rule = r(
            "UPDATE fraud_rules SET name = ?, rule_type = ?, action = ?, threshold = ?,"
            ' window_secs = ?, scope = ?, "values" = ?, is_active = ?, updated_at = ?'
            " WHERE id = ?"
        )
        self.delete_rule = r("DELETE FROM fraud_rules WHERE id = ?")
        self.get_idempotency = r(
            f"SELECT {select_list(s.IDEMPOTENCY_KEYS.names)} FROM idempotency_keys"
            " WHERE tenant_id = ? AND key = ?"
        )
        kept = ", ".join(f"{n} = excluded.{n}" for n in s.IDEMPOTENCY_KEYS.names[2:])
        self.put_idempotency = r(
            f"{insert(s.IDEMPOTENCY_KEYS)} ON CONFLICT (tenant_id, key) DO UPDATE SET {kept}"
        )
        self.purge_idempotency = r(
            "DELETE FROM idempotency_keys WHERE (tenant_id, key) IN (SELECT tenant_id, key"
            f" FROM idempotency_keys WHERE expires_at <= ? LIMIT ?{d.skip_locked})"
        )
        self.set_meta = r(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )

    def _deliveries(self, d: Dialect) -> None:
        r = d.render
        self.record_attempt = r(insert(s.DELIVERY_ATTEMPTS))
        self.finish_delivery = r(
            "UPDATE deliveries SET status = ?, next_attempt_at = coalesce(?, next_attempt_at),"
            " lease_until = NULL, lease_owner = NULL, last_error = ?, delivered_at = ?,"
            " dead_at = ?, dead_reason = ? WHERE event_id = ? AND lease_owner = ?"
            f" AND status = '{DELIVERING}'"
        )
        self.disable_endpoint = r(
            f"{insert(s.DISABLED_ENDPOINTS)} ON CONFLICT (tenant_id, url) DO NOTHING"
        )
        # One statement, two index walks in time order, each stopping at its first hit.
        self.next_delivery_due = r(
            f"SELECT (SELECT d.next_attempt_at FROM deliveries d WHERE d.status = '{PENDING}'"
            f" AND {first_open(d)} ORDER BY d.next_attempt_at LIMIT 1),"
            f" (SELECT lease_until FROM deliveries WHERE status = '{DELIVERING}'"
            " ORDER BY lease_until LIMIT 1)"
        )

    def built(self, key: tuple[Any, ...], build: Callable[[], str]) -> str:
        """The statement for ``key``, built and rendered the first time it is asked for."""
        sql = self._built.get(key)
        if sql is None:
            sql = self._built[key] = self.dialect.render(build())
        return sql
