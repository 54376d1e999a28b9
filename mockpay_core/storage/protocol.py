"""The storage contract: what the engine needs from a database, and nothing more.

A ``Store`` hands out ``Reader``s (consistent reads) and ``UnitOfWork``s (one write
transaction each: everything written through it commits together or not at all). Every
adapter passes the same contract tests (``tests/contract``).

Concurrency is the adapter's job, through the ``lock_*`` calls the engine makes before it
reads what it is about to change:

- ``lock_tenant``: serialises a tenant's fraud windows and audit chain. SQLite's
  ``BEGIN IMMEDIATE`` already serialises every writer; PostgreSQL locks the tenant row.
- ``lock_idempotency_key``: the first caller with a key runs, later ones wait for it (a
  bounded wait, then ``IdempotencyKeyInUse``) and then see its stored result.
- ``lock_payment``: reads the payment for update (``SELECT ... FOR UPDATE``).

Adapters raise only ``mockpay_core.errors`` exceptions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from mockpay_core.domain.delivery import Attempt, Claim, Delivery
from mockpay_core.domain.fraud import FraudDecision, FraudRule, RuleSpec, WindowQuery
from mockpay_core.domain.model import (
    AuditEntry,
    Dispute,
    Event,
    Payment,
    Refund,
    Tenant,
)
from mockpay_core.domain.retry import DeliveryStatus


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    tenant_id: str
    key: str
    operation: str
    fingerprint: str
    succeeded: bool
    response: dict[str, Any]  # a record's ``to_data()``, or an error's ``to_record()``
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    status: str | None = None
    currency: str | None = None
    before: tuple[datetime, str] | None = None  # (created_at, id) of the previous page's last row


class Reader(Protocol):
    """Reads. Inside a ``UnitOfWork`` they see its own uncommitted writes."""

    def get_tenant(self, tenant_id: str) -> Tenant | None: ...
    def tenant_by_key_hash(self, key_hash: str) -> Tenant | None: ...
    def list_tenants(self) -> list[Tenant]: ...
    def get_payment(self, tenant_id: str, payment_id: str) -> Payment | None: ...
    def payment_tenant(self, payment_id: str) -> str | None:
        """Whose payment this is (for admins, who act across tenants)."""
        ...

    def list_payments(self, tenant_id: str, where: PaymentFilter, limit: int) -> list[Payment]: ...
    def refunds(self, tenant_id: str, payment_id: str) -> list[Refund]: ...
    def disputes(self, tenant_id: str, payment_id: str) -> list[Dispute]: ...
    def audit_for_payment(self, tenant_id: str, payment_id: str) -> list[AuditEntry]: ...
    def audit_chain(self, tenant_id: str) -> Iterator[dict[str, Any]]:
        """Every audit row of the tenant in ``seq`` order, as read from disk (for verifying)."""
        ...

    def events(self, tenant_id: str, payment_id: str | None, limit: int) -> list[Event]: ...
    def fraud_decisions(self, tenant_id: str, payment_id: str) -> list[dict[str, Any]]: ...
    def list_rules(self) -> list[FraudRule]: ...
    def get_rule(self, rule_id: str) -> FraudRule | None: ...
    def due_authorizations(self, now: datetime, limit: int) -> list[Payment]: ...
    def pending_before(self, cutoff: datetime, limit: int) -> list[Payment]:
        """Every tenant's payments still ``pending`` that were created before ``cutoff``."""
        ...

    def metrics(self, since: datetime, tenant_id: str | None) -> dict[str, Any]: ...
    def get_meta(self, key: str) -> str | None: ...

    # Webhook delivery (see mockpay_core.delivery)
    def deliveries(
        self,
        tenant_id: str | None,
        *,
        payment_id: str | None = None,
        event_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]: ...
    def dead_deliveries(self, tenant_id: str | None, limit: int) -> list[Delivery]: ...
    def attempts(
        self, tenant_id: str | None, event_id: str | None, limit: int
    ) -> list[Attempt]: ...
    def next_delivery_due(self) -> datetime | None:
        """The earliest time a delivery becomes due (or a lease expires), if any."""
        ...

    def delivery_metrics(self, tenant_id: str | None) -> dict[str, Any]: ...
    def next_authorization_expiry(self) -> datetime | None: ...


class UnitOfWork(Reader, Protocol):
    """One write transaction. Leaving the ``with`` block normally commits it."""

    def lock_tenant(self, tenant_id: str) -> bool:
        """Lock the tenant for this transaction; False when it does not exist."""
        ...

    def lock_idempotency_key(self, tenant_id: str, key: str) -> None: ...
    def lock_payment(self, tenant_id: str, payment_id: str) -> Payment | None: ...
    def savepoint(self) -> AbstractContextManager[None]:
        """A nested scope whose writes roll back alone if it raises."""
        ...

    def email_registered(self, email: str) -> bool: ...
    def insert_tenant(self, tenant: Tenant, api_key_hash: str) -> None: ...
    def update_tenant(self, tenant: Tenant) -> None: ...
    def insert_payment(self, payment: Payment) -> None: ...
    def update_payment(self, payment: Payment) -> None: ...
    def insert_refund(self, refund: Refund) -> None: ...
    def insert_dispute(self, dispute: Dispute) -> None: ...
    def update_dispute(self, dispute: Dispute) -> None: ...
    def audit_head(self, tenant_id: str) -> tuple[int, str] | None:
        """(seq, hash) of the tenant's last audit row."""
        ...

    def insert_audit(self, entry: AuditEntry) -> None: ...
    def insert_event(self, event: Event) -> None: ...
    def active_rules(self, tenant_id: str) -> list[FraudRule]: ...
    def window_stats(self, tenant_id: str, queries: list[WindowQuery]) -> dict[str, int]: ...
    def insert_decision(
        self, decision_id: str, payment: Payment, decision: FraudDecision
    ) -> None: ...
    def insert_rule(self, rule: FraudRule, tenant_id: str | None) -> None: ...
    def update_rule(self, rule_id: str, spec: RuleSpec, updated_at: datetime) -> None: ...
    def delete_rule(self, rule_id: str) -> bool: ...
    def get_idempotency(self, tenant_id: str, key: str) -> IdempotencyRecord | None: ...
    def put_idempotency(self, record: IdempotencyRecord) -> None:
        """Insert, or replace an expired record with the same key."""
        ...

    def purge_idempotency(self, before: datetime, limit: int) -> int: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def claim_deliveries(
        self, now: datetime, limit: int, lease_until: datetime, owner: str
    ) -> list[Claim]:
        """Lease up to ``limit`` due deliveries (respecting per-payment order) to ``owner``."""
        ...

    def record_attempt(self, attempt: Attempt) -> None: ...
    def finish_delivery(
        self,
        event_id: str,
        owner: str,
        status: DeliveryStatus,
        now: datetime,
        *,
        next_attempt_at: datetime | None = None,
        last_error: str | None = None,
        dead_reason: str | None = None,
    ) -> bool:
        """Settle a claimed delivery; False when ``owner`` no longer holds its lease."""
        ...

    def disable_endpoint(self, tenant_id: str, url: str, reason: str, at: datetime) -> None: ...
    def replay_dead(
        self,
        now: datetime,
        *,
        tenant_id: str | None = None,
        event_id: str | None = None,
        since: datetime | None = None,
    ) -> int:
        """Dead deliveries back to pending, due at ``now``, endpoints re-enabled; how many."""
        ...


class Store(Protocol):
    """A database the engine runs on."""

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]: ...
    def reader(self) -> AbstractContextManager[Reader]: ...
    def close(self) -> None: ...
