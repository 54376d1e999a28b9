"""The storage contract: what the engine needs from a database, and nothing more.

A ``Store`` hands out ``Reader``s (consistent reads) and ``UnitOfWork``s (one write
transaction each: everything written through it commits together or not at all). Every
adapter passes the same contract tests (``tests/contract``).

Concurrency is the adapter's job, through the ``lock_*`` calls the engine makes before it
reads what it is about to change:

- ``lock_tenant``: serialises a tenant's fraud windows and audit chain. SQLite's
  ``BEGIN IMMEDIATE`` already serialises every writer; PostgreSQL locks the tenant row.
- ``lock_idempotency_key``: the first caller with a key runs, later ones wait for it (a
  bounded wait, then ``IdempotencyKeyInUse``) and then see its stored result. Writers
  call it after ``lock_tenant`` of the key's tenant, so an adapter whose tenant lock
  already shuts out every other writer need not lock the key again (PostgreSQL's row lock).
- ``lock_payment``: reads the payment for update (``SELECT ... FOR UPDATE``).

Several units of work can share one transaction (``Store.batch``), each in its own
savepoint: a server's writer runs the commands that arrive together and answers them after
one COMMIT. ``Store.tables`` reads whole tables for export and analysis.

Adapters raise only ``mockpay_core.errors`` exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from mockpay_core.domain.delivery import Attempt, Claim, Delivery
from mockpay_core.domain.fees import FeeSchedule
from mockpay_core.domain.fraud import FraudDecision, FraudRule, RuleSpec, WindowQuery
from mockpay_core.domain.model import (
    AuditEntry,
    Customer,
    Dispute,
    Event,
    Fee,
    LedgerEntry,
    Payment,
    Payout,
    Refund,
    Tenant,
    WebhookEndpoint,
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
    # Lower-case text found anywhere in the description or the customer (LIKE's % and _
    # are matched as themselves).
    search: str | None = None
    # (created_at, id) of the oldest row to look at: with ``payment_key`` it bounds how far
    # back a filter that matches few rows scans.
    down_to: tuple[datetime, str] | None = None


class Reader(Protocol):
    """Reads. Inside a ``UnitOfWork`` they see its own uncommitted writes."""

    def get_tenant(self, tenant_id: str) -> Tenant | None: ...
    def tenant_by_key_hash(self, key_hash: str) -> Tenant | None: ...
    def list_tenants(self) -> list[Tenant]: ...
    def get_customer(self, tenant_id: str, customer_id: str) -> Customer | None:
        """A Customer, deleted ones too (``deleted_at`` set)."""
        ...

    def list_customers(self, tenant_id: str, limit: int, email: str | None) -> list[Customer]:
        """The tenant's Customers that are not deleted (with that ``email``), newest first."""
        ...

    def get_endpoint(self, tenant_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        """A WebhookEndpoint, deleted ones too (``deleted_at`` set)."""
        ...

    def list_endpoints(self, tenant_id: str, limit: int) -> list[WebhookEndpoint]:
        """The tenant's endpoints that are not deleted, newest first."""
        ...

    def get_payment(self, tenant_id: str, payment_id: str) -> Payment | None: ...
    def payment_tenant(self, payment_id: str) -> str | None:
        """Whose payment this is (for admins, who act across tenants)."""
        ...

    def list_payments(self, tenant_id: str, where: PaymentFilter, limit: int) -> list[Payment]: ...
    def payment_key(
        self, tenant_id: str, before: tuple[datetime, str] | None, offset: int
    ) -> tuple[datetime, str] | None:
        """(created_at, id) of the tenant's payment ``offset`` rows (0: the first) after
        ``before`` in the list's order, newest first; None when there are not that many."""
        ...

    def refunds(self, tenant_id: str, payment_id: str) -> list[Refund]: ...
    def disputes(self, tenant_id: str, payment_id: str) -> list[Dispute]: ...
    def audit_for_payment(self, tenant_id: str, payment_id: str) -> list[AuditEntry]: ...
    def audit_chain(self, tenant_id: str) -> Iterator[dict[str, Any]]:
        """Every audit row of the tenant in ``seq`` order, as read from disk (for verifying)."""
        ...

    def audit_head(self, tenant_id: str) -> tuple[int, str] | None:
        """(seq, hash) of the tenant's last audit row."""
        ...

    def events(self, tenant_id: str, payment_id: str | None, limit: int) -> list[Event]: ...
    def latest_events(
        self, tenant_id: str, limit: int, types: Sequence[str] | None = None
    ) -> list[Event]:
        """The tenant's newest ``limit`` events, newest first (of ``types`` only, if given);
        an endpoint's copies are not events of their own."""
        ...

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
    def recent_deliveries(
        self, tenant_id: str | None, status: str | None, limit: int
    ) -> list[Delivery]:
        """Deliveries of ``status`` (each in the order its index keeps: pending soonest due
        first, delivering soonest lease end first, dead latest death first, delivered and
        any status newest event first); every tenant's if ``tenant_id`` is None."""
        ...

    def payments_per_minute(
        self, tenant_id: str | None, since: datetime
    ) -> list[tuple[int, str, int]]:
        """(whole minutes after ``since``, status, payments) of the payments created since
        ``since``, for every (minute, status) that has any; every tenant's if None."""
        ...

    def recent_decisions(self, tenant_id: str, limit: int) -> list[dict[str, Any]]:
        """The fraud decisions on the tenant's newest ``limit`` payments, newest first: id,
        tenant_id, payment_id, outcome, evaluated (each rule, what it observed, whether it
        fired), created_at."""
        ...

    def payment_activity(
        self, tenant_id: str, payment_id: str, limit: int
    ) -> list[tuple[Event, Delivery | None]]:
        """The payment's events, oldest first, each with its delivery (None if it has none)."""
        ...

    def next_authorization_expiry(self) -> datetime | None: ...

    # The ledger (see mockpay_core.domain.ledger)
    def ledger_head(self, tenant_id: str) -> tuple[int, str] | None:
        """(seq, hash) of the tenant's last ledger entry."""
        ...

    def ledger_entries(self, tenant_id: str, after_seq: int, limit: int) -> list[LedgerEntry]:
        """The tenant's entries after ``after_seq``, in ``seq`` order."""
        ...

    def ledger_chain(self, tenant_id: str) -> Iterator[dict[str, Any]]:
        """Every ledger entry of the tenant in ``seq`` order, as read from disk (for verifying)."""
        ...

    def ledger_balances(self, tenant_id: str) -> dict[tuple[str, str], int]:
        """(currency, account) -> credits minus debits, for every account with entries."""
        ...

    def unbalanced_transactions(self, tenant_id: str) -> list[tuple[str, str, int]]:
        """(transaction_id, currency, credits minus debits) of every transaction that is not
        zero: none, unless the entries were tampered with."""
        ...

    def due_settlements(self, now: datetime, limit: int) -> list[LedgerEntry]:
        """Every tenant's capture entries into pending, due by ``now`` and not yet settled."""
        ...

    def fee_schedule(self, tenant_id: str, currency: str) -> FeeSchedule | None:
        """The tenant's own fee schedule in ``currency``; None: the default applies."""
        ...

    def fee_charged(self, tenant_id: str, payment_id: str) -> int:
        """What the payment's capture paid in fees (0 before its capture)."""
        ...

    def payouts(self, tenant_id: str, limit: int) -> list[Payout]:
        """The tenant's payouts, newest first."""
        ...

    def get_payout(self, tenant_id: str, payout_id: str) -> Payout | None: ...

    def latest_ledger_entries(self, tenant_id: str, limit: int) -> list[LedgerEntry]:
        """The tenant's newest ``limit`` entries, newest first."""
        ...

    def ledger_transaction(self, tenant_id: str, transaction_id: str) -> list[LedgerEntry]:
        """One ledger transaction's entries, in order ([] when there is none)."""
        ...

    def ledger_sources(self, tenant_id: str) -> dict[str, dict[str, int]]:
        """Per currency, the sums the ledger must agree with, from the payments, refunds,
        disputes, fees and payouts tables: ``captured``, ``authorized``, ``refunded``,
        ``dispute_<status>``, ``fees_<kind>``, ``payouts_<status>``, and ``unsettled`` (the
        net of the captured payments the ledger holds no settlement of)."""
        ...


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
    def insert_audit(self, entry: AuditEntry) -> None: ...
    def insert_event(self, event: Event, deliver: bool = True) -> None:
        """The outbox row and (unless not ``deliver``: an event with nowhere of its own to
        go, only its copies) its delivery, due at once. ``events`` reads leave out an
        endpoint's copies (``endpoint_id`` set), which are deliveries to that endpoint."""
        ...

    def insert_ledger_entries(self, entries: Sequence[LedgerEntry]) -> None:
        """A ledger transaction's entries (append-only: never updated or deleted)."""
        ...

    def insert_fee(self, fee: Fee) -> None: ...
    def put_fee_schedule(
        self, tenant_id: str, currency: str, schedule: FeeSchedule, at: datetime
    ) -> None: ...
    def insert_payout(self, payout: Payout) -> None: ...
    def insert_customer(self, customer: Customer) -> None: ...
    def update_customer(self, customer: Customer) -> None: ...
    def insert_endpoint(self, endpoint: WebhookEndpoint) -> None: ...
    def update_endpoint(self, endpoint: WebhookEndpoint) -> None: ...
    def endpoints_for(self, tenant_id: str, event_type: str) -> list[WebhookEndpoint]:
        """The tenant's enabled endpoints that want Stripe events of ``event_type``."""
        ...

    def active_rules(self, tenant_id: str) -> list[FraudRule]: ...
    def window_stats(self, tenant_id: str, queries: list[WindowQuery]) -> dict[str, int]: ...
    def expect_window_stats(
        self, tenant_id: str, queries_for: Callable[[list[FraudRule]], list[WindowQuery]]
    ) -> None:
        """A hint: this unit asks ``window_stats(tenant_id, queries_for(active_rules))``
        once it has read its idempotency record. A store that pipelines may send it now
        and have both answers in one wait; another ignores it. Changes nothing a unit sees."""
        ...

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
        answered: bool = True,
    ) -> bool | None:
        """Settle a claimed delivery; False when ``owner`` no longer holds its lease (a
        delivery it lost is left as its new holder has it). ``answered=False``: not asked
        (None), so that a store may send it without waiting for the answer."""
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


Column = tuple[str, str]  # (name, INTEGER | REAL | TEXT): SQLite's representation


class TablePage(NamedTuple):
    columns: list[Column]
    rows: list[tuple[Any, ...]]
    next_after: str | None  # the cursor of the next page; None on the last


class Tables(Protocol):
    """A store's tables, read whole for export and analysis. Rows come in SQLite's
    representation on every store (times as ISO 8601 text, booleans 0/1, JSON as text);
    exported columns never include secrets. Only ``tamper`` writes."""

    @property
    def names(self) -> tuple[str, ...]:
        """The tables a run exports, in order."""
        ...

    def columns(self, table: str) -> list[Column]:
        """The exported columns of ``table`` (``NotFound`` for any other table)."""
        ...

    def chunks(
        self, table: str, columns: Sequence[Column], order_by: Sequence[str] = ()
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Every row of ``table`` in chunks of bounded size (a million rows in bounded
        memory), ordered by the columns ``order_by`` if given."""
        ...

    def tenant_page(
        self, table: str, tenant_ids: Sequence[str], after: str | None, limit: int
    ) -> TablePage:
        """One keyset page of the rows of some tenants (fraud rules: also global ones)."""
        ...

    def audit_rows(self, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's audit rows in chain order, every column, as stored."""
        ...

    def audit_head(self, tenant_id: str) -> str:
        """The hash of the tenant's last audit row; "" when it has none."""
        ...

    def tamper(self, sql: str, params: Sequence[Any] = (), *, behind_triggers: bool = True) -> int:
        """A fault: ``sql`` (``?`` placeholders) run as an attacker with database access,
        in a transaction of its own; rows changed. ``behind_triggers`` first drops the
        append-only triggers of the audit log and the ledger (they stay dropped, as an
        attacker leaves them); without it they still refuse (``AuditImmutable``). An empty
        ``sql`` only drops."""
        ...


class BatchScope(Protocol):
    """What a batch holds once it has begun."""

    def holds(self, tenant_id: str | None) -> bool:
        """Can a unit of work on ``tenant_id`` (None: no tenant's rows) join the batch
        without a lock it does not hold yet?"""
        ...


class WholeDatabase:
    """A batch holding the whole database (SQLite's writer): every unit may join."""

    def holds(self, tenant_id: str | None) -> bool:
        return True


class Store(Protocol):
    """A database the engine runs on."""

    @property
    def in_process(self) -> bool:
        """True when reads cost no network round trip (an embedded database): a server may
        run them right on its event loop."""
        ...

    @property
    def durability(self) -> str:
        """How long a COMMIT waits for the disk, as the database itself reports it: "full"
        (a committed write survives a power cut), "normal" (it survives a crash of the
        process that wrote it), "off" (SQLite only: not even that)."""
        ...

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]: ...
    def reader(self) -> AbstractContextManager[Reader]:
        """Consistent reads; opened while this thread has a unit of work or a batch open,
        it reads inside that transaction and sees its writes."""
        ...

    def batch(self, tenant_ids: Collection[str] = ()) -> AbstractContextManager[BatchScope]:
        """The units of work this thread runs inside share one transaction, each in its
        own savepoint (a failed one undoes only its own writes), committed when the block
        ends. ``tenant_ids``: the tenants they will lock, locked up front in one order, so
        that batches in several processes never deadlock. Raises ``StorageError`` if the
        transaction was lost or did not commit: then none of its writes were kept,
        whatever its units returned; ``BatchLost`` when a unit's writes failed after it
        had returned (a store may wait for their answers with a later unit's), so that
        no one unit can be told: each may then be run again on its own."""
        ...

    def tables(self) -> AbstractContextManager[Tables]: ...
    def flush(self) -> None:
        """Commit writes held back for a group commit (a simulation store), if any."""
        ...

    def close(self) -> None: ...
