"""Every table's columns, in table order, with the kind each is stored as: the one list.

Both adapters' migrations create these tables (SQLite in TEXT/INTEGER/REAL, PostgreSQL in
native types); ``tests/contract`` checks the list against both databases and against the
records' fields. Queries select, insert and map rows by these names, never by position.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Kind(StrEnum):
    """How a value is stored; each dialect has a codec per kind."""

    TEXT = "TEXT"
    INT = "INTEGER"
    REAL = "REAL"
    BOOL = "BOOL"  # SQLite 0/1, PostgreSQL boolean
    TIME = "TIME"  # SQLite ISO 8601 UTC text, PostgreSQL timestamptz
    JSON = "JSON"  # SQLite text, PostgreSQL json (kept as written)

    @property
    def exported(self) -> str:
        """The column type of an export: INTEGER, REAL or TEXT (SQLite's representation)."""
        return {Kind.INT: "INTEGER", Kind.BOOL: "INTEGER", Kind.REAL: "REAL"}.get(self, "TEXT")


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[tuple[str, Kind], ...]
    owner: str | None = "tenant_id"  # the column naming the tenant a row belongs to
    page_key: str = "id"  # keyset order of export pages
    exported: tuple[str, ...] | None = None  # None: every column (never secrets)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def kind(self, name: str) -> Kind:
        return dict(self.columns)[name]

    def export_columns(self) -> list[tuple[str, Kind]]:
        keep = self.exported
        return [(n, k) for n, k in self.columns if keep is None or n in keep]


def _cols(spec: str) -> tuple[tuple[str, Kind], ...]:
    """``"id, amount_minor:INTEGER, created_at:TIME"``: names in order, TEXT unless typed."""
    found = []
    for item in spec.split(","):
        name, _, kind = item.strip().partition(":")
        found.append((name, Kind[kind] if kind else Kind.TEXT))
    return tuple(found)


N, TS, J, B = ":INT", ":TIME", ":JSON", ":BOOL"  # numbers, times, JSON, booleans
META: Final = Table("meta", _cols("key, value"), owner=None, page_key="key")
TENANTS: Final = Table(
    "tenants",
    _cols(
        "id, name, email, email_norm, api_key_hash, webhook_secret, rate_limit_tier,"
        f" created_at{TS}, previous_webhook_secret, secret_rotated_at{TS}"
    ),
    owner="id",
    exported=("id", "name", "email", "rate_limit_tier", "created_at"),
)
PAYMENTS: Final = Table(
    "payments",
    _cols(
        f"id, tenant_id, amount_minor{N}, currency, status, capture_method, webhook_url,"
        f" idempotency_key, created_at{TS}, updated_at{TS}, captured_minor{N},"
        f" refunded_minor{N}, disputed_minor{N}, customer, description, metadata{J},"
        f" failure_code, expires_at{TS}, refunded_at{TS}, refund_reason, payment_method,"
        " cancellation_reason"
    ),
    # The last two are the Stripe face's (docs/stripe-phase2.md); /api never sets them and
    # a run's export keeps the columns it had, so recorded scenario digests still compare.
    exported=(
        "id", "tenant_id", "amount_minor", "currency", "status", "capture_method",
        "webhook_url", "idempotency_key", "created_at", "updated_at", "captured_minor",
        "refunded_minor", "disputed_minor", "customer", "description", "metadata",
        "failure_code", "expires_at", "refunded_at", "refund_reason",
    ),
)  # fmt: skip
REFUNDS: Final = Table(
    "refunds",
    _cols(f"id, payment_id, tenant_id, amount_minor{N}, currency, reason, created_at{TS}"),
)
DISPUTES: Final = Table(
    "disputes",
    _cols(
        f"id, payment_id, tenant_id, amount_minor{N}, currency, reason, status,"
        f" created_at{TS}, resolved_at{TS}"
    ),
)
AUDIT_LOG: Final = Table(
    "audit_log",
    _cols(
        f"id, tenant_id, payment_id, seq{N}, old_status, new_status, action, triggered_by,"
        f" metadata{J}, created_at{TS}, prev_hash, hash"
    ),
)
EVENTS: Final = Table(
    "events",
    _cols(f"id, tenant_id, payment_id, type, payload{J}, created_at{TS}, endpoint_id"),
    # endpoint_id: a Stripe delivery's copy of an event for one WebhookEndpoint (none in
    # /api runs); left out of exports so that recorded scenario digests still compare.
    exported=("id", "tenant_id", "payment_id", "type", "payload", "created_at"),
)
CUSTOMERS: Final = Table(
    "customers",
    _cols(
        f"id, tenant_id, email, name, description, metadata{J}, created_at{TS}, updated_at{TS},"
        f" deleted_at{TS}"
    ),
)
WEBHOOK_ENDPOINTS: Final = Table(
    "webhook_endpoints",
    _cols(
        f"id, tenant_id, url, enabled_events{J}, secret, status, description, metadata{J},"
        f" api_version, created_at{TS}, deleted_at{TS}"
    ),
    exported=(
        "id", "tenant_id", "url", "enabled_events", "status", "description", "metadata",
        "api_version", "created_at", "deleted_at",
    ),
)  # fmt: skip
IDEMPOTENCY_KEYS: Final = Table(
    "idempotency_keys",
    _cols(
        f"tenant_id, key, operation, fingerprint, succeeded{B}, response{J},"
        f" created_at{TS}, expires_at{TS}"
    ),
    page_key="tenant_id || ' ' || key",
    exported=(
        "tenant_id", "key", "operation", "fingerprint", "succeeded", "created_at", "expires_at",
    ),
)  # fmt: skip
FRAUD_RULES: Final = Table(
    "fraud_rules",
    _cols(
        f"id, tenant_id, name, rule_type, action, threshold, window_secs{N}, scope,"
        f" values{J}, is_active{B}, created_at{TS}, updated_at{TS}"
    ),
)
FRAUD_DECISIONS: Final = Table(
    "fraud_decisions",
    _cols(f"id, payment_id, tenant_id, outcome, evaluated{J}, created_at{TS}"),
)
DELIVERIES: Final = Table(
    "deliveries",
    _cols(
        f"seq{N}, event_id, tenant_id, payment_id, status, attempts{N}, round_start{N},"
        f" next_attempt_at{TS}, lease_until{TS}, lease_owner, last_error, delivered_at{TS},"
        f" dead_at{TS}, dead_reason, created_at{TS}"
    ),
    page_key="seq",
)
DELIVERY_ATTEMPTS: Final = Table(
    "delivery_attempts",
    _cols(
        f"id, event_id, tenant_id, attempt{N}, url, scheduled_at{TS}, sent_at{TS},"
        f" duration_ms:REAL, status_code{N}, error, response_excerpt, succeeded{B}"
    ),
)
DISABLED_ENDPOINTS: Final = Table(
    "disabled_endpoints", _cols(f"tenant_id, url, reason, disabled_at{TS}"), page_key="url"
)
LEDGER_ENTRIES: Final = Table(
    "ledger_entries",
    _cols(
        f"id, tenant_id, seq{N}, transaction_id, kind, source_id, payment_id, account,"
        f" currency, direction, amount_minor{N}, available_on{TS}, created_at{TS}, prev_hash,"
        " hash"
    ),
)
FEES: Final = Table(
    "fees", _cols(f"id, tenant_id, payment_id, kind, currency, amount_minor{N}, created_at{TS}")
)
FEE_SCHEDULES: Final = Table(
    "fee_schedules",
    _cols(
        f"tenant_id, currency, rate_bp{N}, fixed_minor{N}, dispute_fee_minor{N},"
        f" refund_returns_fee{B}, updated_at{TS}"
    ),
    page_key="currency",
)
PAYOUTS: Final = Table(
    "payouts",
    _cols(
        f"id, tenant_id, currency, amount_minor{N}, status, failure_code, method, created_at{TS}"
    ),
)

ALL: Final = (
    META, TENANTS, PAYMENTS, REFUNDS, DISPUTES, AUDIT_LOG, EVENTS, IDEMPOTENCY_KEYS,
    FRAUD_RULES, FRAUD_DECISIONS, DELIVERIES, DELIVERY_ATTEMPTS, DISABLED_ENDPOINTS,
    WEBHOOK_ENDPOINTS, CUSTOMERS, LEDGER_ENTRIES, FEES, FEE_SCHEDULES, PAYOUTS,
)  # fmt: skip
BY_NAME: Final = {t.name: t for t in ALL}
# What a run exports (to DuckDB and Parquet) and the admin export route serves, in order.
EXPORTED: Final = (
    TENANTS, PAYMENTS, REFUNDS, DISPUTES, AUDIT_LOG, EVENTS, DELIVERIES, DELIVERY_ATTEMPTS,
    FRAUD_RULES, FRAUD_DECISIONS, IDEMPOTENCY_KEYS, WEBHOOK_ENDPOINTS, CUSTOMERS,
    LEDGER_ENTRIES, FEES, PAYOUTS,
)  # fmt: skip


def quoted(name: str) -> str:
    """A column name fit for SQL on both databases (``values`` is a keyword)."""
    return f'"{name}"' if name == "values" else name
