"""Which statements reach across tenants, and why: the rest each name their tenant.

On a database distributed by tenant (docs/scaling.md: Citus, every tenant-owned table
distributed by ``tenant_id``), a statement that names its tenant on every tenant-owned table
it reads or writes runs on one shard, so a unit of work is a single-shard transaction. The
statements below span tenants by design: authentication and sign-up (a key or an e-mail
names no tenant yet), the admin's views, and the background sweeps (expiry, webhook delivery,
key purging) that serve every tenant. ``tests/contract/test_scope.py`` checks every statement
``Sql`` holds against this list, and ``docs/scaling.md`` says what each becomes.
"""

from __future__ import annotations

from typing import Final

# Tables every tenant reads whole: replicated to each node (Citus reference tables).
REFERENCE_TABLES: Final = frozenset({"meta", "fraud_rules"})

ACROSS_TENANTS: Final[dict[str, str]] = {
    "tenant_by_key_hash": "authentication: an API key names its tenant",
    "email_registered": "sign-up: an e-mail is unique over all tenants",
    "list_tenants": "admin: every tenant",
    "payment_tenant": "admin: whose payment an id is",
    "due_authorizations": "sweep: authorizations past their expiry, every tenant's",
    "next_authorization_expiry": "sweep: when the next authorization expires",
    "pending_before": "sweep: payments stuck in pending, every tenant's",
    "purge_idempotency": "sweep: expired idempotency keys",
    "claim_deliveries": "dispatcher: due webhook deliveries, every tenant's",
    "next_delivery_due": "dispatcher: when the next delivery is due",
    "finish_delivery": "dispatcher: settles the delivery its lease names, by event id",
    "deliveries": "admin: deliveries of every tenant (a tenant's own are scoped)",
    "dead": "admin: the dead-letter queue of every tenant",
    "attempts": "admin: delivery attempts of every tenant",
    "attempt_counts": "admin: delivery metrics of every tenant",
    "delivery_counts": "admin: delivery metrics of every tenant",
    "latency": "admin: delivery metrics of every tenant",
    "enable": "admin: replaying every tenant's dead deliveries",
    "replay": "admin: replaying every tenant's dead deliveries",
    "m_payments": "admin: metrics of every tenant",
    "m_fraud": "admin: metrics of every tenant",
    "m_audit": "admin: metrics of every tenant",
    "m_events": "admin: metrics of every tenant",
    "recent_deliveries": "admin: the dashboard's deliveries of every tenant",
    "payments_per_minute": "admin: the dashboard's payments per minute of every tenant",
}
