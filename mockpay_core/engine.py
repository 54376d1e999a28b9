"""The engine's public face: one object over a store, a clock, an id source and a config.

    >>> from mockpay_core import Engine, SimulatedClock, SeededIds
    >>> engine = Engine.open(":memory:", clock=SimulatedClock(), ids=SeededIds(7))
    >>> acme = engine.register_tenant("Acme", "dev@acme.test").tenant
    >>> p = engine.create_payment(acme.id, amount=49.99, currency="USD",
    ...     webhook_url="http://127.0.0.1:4000/hooks", idempotency_key="order-1").value
    >>> (p.status.value, p.amount_minor)
    ('pending', 4999)
    >>> engine.simulate(acme.id, p.id, "success").value.status.value
    'success'

Commands return an ``Outcome`` (``.value``, ``.replayed``); reads return records. Every
method is safe to call from many threads at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from mockpay_core.clock import Clock, SystemClock
from mockpay_core.config import EngineConfig
from mockpay_core.domain.audit import ChainVerification
from mockpay_core.domain.delivery import Attempt, Delivery
from mockpay_core.domain.fees import FeeSchedule
from mockpay_core.domain.fraud import FraudRule
from mockpay_core.domain.model import (
    AuditEntry,
    Balance,
    Customer,
    Dispute,
    DisputeReceipt,
    Event,
    LedgerEntry,
    NewTenant,
    Outcome,
    Page,
    Payment,
    Payout,
    Refund,
    RefundReceipt,
    Tenant,
    WebhookEndpoint,
)
from mockpay_core.domain.reconcile import Reconciliation
from mockpay_core.errors import NotFound
from mockpay_core.ids import IdSource, SystemIds
from mockpay_core.service import (
    books,
    customers,
    deliveries,
    fees,
    fraud_rules,
    ledger,
    overview,
    payments,
    payouts,
    queries,
    refunds,
    tenants,
    updates,
    webhook_endpoints,
)
from mockpay_core.service.context import Context, Fanout
from mockpay_core.storage.protocol import Reader, Store

if TYPE_CHECKING:
    from mockpay_core.delivery.dispatcher import Dispatcher

EVENTS_LIMIT_MAX = 1000
T = TypeVar("T")


class Engine:
    """MockPay's payment core. Build one with ``Engine.open`` or around any ``Store``."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        ids: IdSource | None = None,
        config: EngineConfig | None = None,
    ) -> None:
        self.ctx = Context(
            store, clock or SystemClock(), ids or SystemIds(), config or EngineConfig()
        )
        self._sweeps = payouts.Sweeps()
        if self.ctx.config.seed_default_fraud_rules:
            fraud_rules.seed_defaults(self.ctx)

    @classmethod
    def open(cls, path: str = "mockpay.db", **kwargs: Any) -> Engine:
        """An engine on an SQLite file (created and migrated if new), ``:memory:``, or a
        PostgreSQL database (``postgresql://...``, migrated on open)."""
        from mockpay_core.storage.open import open_store

        store_options = {k: kwargs.pop(k) for k in ("durability", "busy_timeout_s") if k in kwargs}
        return cls(open_store(path, **store_options), **kwargs)

    @property
    def store(self) -> Store:
        return self.ctx.store

    @property
    def clock(self) -> Clock:
        return self.ctx.clock

    def close(self) -> None:
        self.ctx.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Tenants
    def register_tenant(
        self, name: object, email: object, rate_limit_tier: object = None
    ) -> NewTenant:
        return tenants.register(self.ctx, name, email, rate_limit_tier)

    def authenticate(self, api_key: object) -> Tenant:
        return tenants.authenticate(self.ctx, api_key)

    def get_tenant(self, tenant_id: str) -> Tenant:
        with self.ctx.store.reader() as r:
            tenant = r.get_tenant(tenant_id)
        if tenant is None:
            raise NotFound("tenant", tenant_id)
        return tenant

    def list_tenants(self) -> list[Tenant]:
        with self.ctx.store.reader() as r:
            return r.list_tenants()

    def rotate_webhook_secret(self, tenant_id: str) -> Tenant:
        return tenants.rotate_secret(self.ctx, tenant_id)

    def set_rate_limit_tier(self, tenant_id: str, tier: object) -> Tenant:
        return tenants.set_tier(self.ctx, tenant_id, tier)

    # Payment commands
    def create_payment(self, tenant_id: str, **request: Any) -> Outcome[Payment]:
        """Create a payment (fraud rules decide pending / flagged / failed). Keyword
        arguments: amount, currency, webhook_url, idempotency_key (required), capture_method
        (automatic | manual), customer, description, metadata."""
        return payments.create(self.ctx, tenant_id, **request)

    def prepare_create_payment(
        self, tenant_id: str, **request: Any
    ) -> Callable[[], Outcome[Payment]]:
        """``create_payment`` in two steps: validates now (``ValidationError``), and returns
        the call that creates. The server validates on its event loop, so that the writer
        thread, which holds the database's write lock, only runs the unit of work."""
        return payments.prepare_create(self.ctx, tenant_id, **request)

    def simulate(
        self, tenant_id: str, payment_id: str, status: object, **kw: Any
    ) -> Outcome[Payment]:
        return payments.simulate(self.ctx, tenant_id, payment_id, status, **kw)

    def capture(self, tenant_id: str, payment_id: str, **kw: Any) -> Outcome[Payment]:
        return payments.capture(self.ctx, tenant_id, payment_id, **kw)

    def cancel(self, tenant_id: str, payment_id: str, **kw: Any) -> Outcome[Payment]:
        return payments.cancel(self.ctx, tenant_id, payment_id, **kw)

    def set_fanout(self, fanout: Fanout | None) -> None:
        """Install a fan-out: asked inside each event's unit of work for copies of it (the
        Stripe face's, one per matching WebhookEndpoint), each delivered on its own."""
        self.ctx = dataclasses.replace(self.ctx, fanout=fanout)

    def create_customer(self, tenant_id: str, **kw: Any) -> Outcome[Customer]:
        """``email``, ``name``, ``description``, ``metadata``: a Stripe Customer."""
        return customers.create(self.ctx, tenant_id, **kw)

    def update_customer(self, tenant_id: str, customer_id: str, **kw: Any) -> Outcome[Customer]:
        """The fields given ("" clears one); ``metadata`` merged by Stripe's rules."""
        return customers.update(self.ctx, tenant_id, customer_id, **kw)

    def delete_customer(self, tenant_id: str, customer_id: str, **kw: Any) -> Outcome[Customer]:
        return customers.delete(self.ctx, tenant_id, customer_id, **kw)

    def get_customer(self, tenant_id: str, customer_id: str) -> Customer:
        return customers.get(self.ctx, tenant_id, customer_id)

    def list_customers(self, tenant_id: str, email: str | None = None) -> list[Customer]:
        return customers.listing(self.ctx, tenant_id, email)

    def create_webhook_endpoint(self, tenant_id: str, **kw: Any) -> Outcome[WebhookEndpoint]:
        """``url``, ``enabled_events`` (Stripe types or ``["*"]``), ``description``,
        ``metadata``, ``api_version``: an enabled endpoint with a fresh ``whsec_`` secret."""
        return webhook_endpoints.create(self.ctx, tenant_id, **kw)

    def update_webhook_endpoint(
        self, tenant_id: str, endpoint_id: str, **kw: Any
    ) -> Outcome[WebhookEndpoint]:
        """``url``, ``enabled_events``, ``disabled``, ``description``, ``metadata``."""
        return webhook_endpoints.update(self.ctx, tenant_id, endpoint_id, **kw)

    def delete_webhook_endpoint(
        self, tenant_id: str, endpoint_id: str, **kw: Any
    ) -> Outcome[WebhookEndpoint]:
        return webhook_endpoints.delete(self.ctx, tenant_id, endpoint_id, **kw)

    def get_webhook_endpoint(self, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
        return webhook_endpoints.get(self.ctx, tenant_id, endpoint_id)

    def list_webhook_endpoints(self, tenant_id: str) -> list[WebhookEndpoint]:
        return webhook_endpoints.listing(self.ctx, tenant_id)

    def update_payment(self, tenant_id: str, payment_id: str, **kw: Any) -> Outcome[Payment]:
        """Change ``metadata`` (merged in; an empty value removes a key; ``clear_metadata``),
        ``description`` or, before confirm, ``payment_method``: no transition, no event."""
        return updates.update(self.ctx, tenant_id, payment_id, **kw)

    def review(
        self, tenant_id: str, payment_id: str, decision: object, **kw: Any
    ) -> Outcome[Payment]:
        return payments.review(self.ctx, tenant_id, payment_id, decision, **kw)

    def refund(
        self, tenant_id: str, payment_id: str, amount: object, **kw: Any
    ) -> Outcome[RefundReceipt]:
        return refunds.refund(self.ctx, tenant_id, payment_id, amount, **kw)

    def open_dispute(self, tenant_id: str, payment_id: str, **kw: Any) -> Outcome[DisputeReceipt]:
        return refunds.open_dispute(self.ctx, tenant_id, payment_id, **kw)

    def resolve_dispute(
        self, tenant_id: str, payment_id: str, outcome: object, **kw: Any
    ) -> Outcome[DisputeReceipt]:
        return refunds.resolve_dispute(self.ctx, tenant_id, payment_id, outcome, **kw)

    # What falls due on the clock
    def expire_authorizations(self, limit: int = 1000) -> int:
        return payments.expire_authorizations(self.ctx, limit)

    def settle_pending(
        self, after_s: float, success_p: float, rng: payments.Rng, limit: int = 1000
    ) -> int:
        """Settle pending payments older than ``after_s``: success with ``success_p``, drawn
        from ``rng`` (the caller's, seeded or not)."""
        return payments.settle_pending(self.ctx, after_s, success_p, rng, limit)

    def purge_idempotency_keys(self, limit: int = 10_000) -> int:
        with self.ctx.store.unit_of_work() as uow:
            return uow.purge_idempotency(self.ctx.clock.now(), limit)

    def settle_captures(self, limit: int = 1000) -> int:
        """Move captures past their settlement delay from pending to available."""
        return ledger.settle_due(self.ctx, limit)

    def run_payouts(self) -> int:
        """The scheduled sweep of the clock's current window, the first time it is called
        in that window (0 after, until the next window: see ``service.payouts``)."""
        return self._sweeps.run(self.ctx)

    def run_due(self) -> dict[str, int]:
        """Everything due at the clock's current time, and how many of each were done:
        authorization expiry, key expiry, settlement and scheduled payouts (while the ledger
        is on; ``captures_settled`` and ``payouts_made`` only when not 0)."""
        done = {
            "authorizations_expired": self.expire_authorizations(),
            "idempotency_keys_purged": self.purge_idempotency_keys(),
        }
        if self.ctx.config.ledger.enabled:
            # Shown only when they did something: outputs recorded before the ledger existed
            # (notebooks, logs) read as they did.
            ledger_jobs = {"captures_settled": self.settle_captures(),
                           "payouts_made": self.run_payouts()}  # fmt: skip
            done.update({k: n for k, n in ledger_jobs.items() if n})
        return done

    # The books
    def balance(self, tenant_id: str) -> list[Balance]:
        """Per currency: available, pending, reserved and authorized, from the ledger."""
        return books.balance(self.ctx, tenant_id)

    def ledger(self, tenant_id: str, **kw: Any) -> Page[LedgerEntry]:
        """The tenant's ledger entries, oldest first: ``starting_after`` (a page's
        ``next_cursor``), ``limit`` (1-1000)."""
        return books.entries(self.ctx, tenant_id, **kw)

    def latest_ledger(self, tenant_id: str, limit: int = 100) -> list[LedgerEntry]:
        """The tenant's newest ledger entries, newest first (``limit`` 1-10,000)."""
        return books.latest_entries(self.ctx, tenant_id, limit)

    def ledger_transaction(self, tenant_id: str, transaction_id: str) -> list[LedgerEntry]:
        """One ledger transaction's entries, by its id ``<kind>:<source id>``."""
        return books.transaction(self.ctx, tenant_id, transaction_id)

    def payouts(self, tenant_id: str, limit: int = 100) -> list[Payout]:
        """The tenant's payouts, newest first."""
        return books.payouts(self.ctx, tenant_id, limit)

    def get_payout(self, tenant_id: str, payout_id: str) -> Payout:
        return books.get_payout(self.ctx, tenant_id, payout_id)

    def create_payout(self, tenant_id: str, **kw: Any) -> Outcome[Payout]:
        """An on-demand payout: ``currency``, ``amount`` (all available if left out),
        ``idempotency_key``."""
        return payouts.request(self.ctx, tenant_id, **kw)

    def set_fee_schedule(self, tenant_id: str, currency: object, **prices: Any) -> FeeSchedule:
        """The admin's prices for a tenant in one currency (``FeeSchedule``'s fields)."""
        return fees.set_schedule(self.ctx, tenant_id, currency, prices)

    def fee_schedule(self, tenant_id: str, currency: object) -> FeeSchedule:
        return fees.get_schedule(self.ctx, tenant_id, currency)

    def verify_ledger(self, tenant_id: str) -> ChainVerification:
        return books.verify(self.ctx, tenant_id)

    def reconcile(self, tenant_id: str) -> Reconciliation:
        """The ledger against the payments, refunds, disputes, fees and payouts tables."""
        return books.reconciliation(self.ctx, tenant_id)

    # Reads
    def get_payment(self, tenant_id: str, payment_id: str) -> Payment:
        return queries.get_payment(self.ctx, tenant_id, payment_id)

    def payment_tenant(self, payment_id: str) -> str:
        """The id of the tenant a payment belongs to (for admin routes)."""
        with self.ctx.store.reader() as r:
            tenant_id = r.payment_tenant(payment_id)
        if tenant_id is None:
            raise NotFound("payment", payment_id)
        return tenant_id

    def list_payments(self, tenant_id: str, **kw: Any) -> Page[Payment]:
        return queries.list_payments(self.ctx, tenant_id, **kw)

    def audit_history(self, tenant_id: str, payment_id: str) -> list[AuditEntry]:
        return self._scoped(
            tenant_id, payment_id, lambda r: r.audit_for_payment(tenant_id, payment_id)
        )

    def refunds(self, tenant_id: str, payment_id: str) -> list[Refund]:
        return self._scoped(tenant_id, payment_id, lambda r: r.refunds(tenant_id, payment_id))

    def disputes(self, tenant_id: str, payment_id: str) -> list[Dispute]:
        return self._scoped(tenant_id, payment_id, lambda r: r.disputes(tenant_id, payment_id))

    def fraud_decisions(self, tenant_id: str, payment_id: str) -> list[dict[str, Any]]:
        return self._scoped(
            tenant_id, payment_id, lambda r: r.fraud_decisions(tenant_id, payment_id)
        )

    def events(
        self, tenant_id: str, payment_id: str | None = None, limit: int = 100
    ) -> list[Event]:
        with self.ctx.store.reader() as r:
            return r.events(tenant_id, payment_id, max(1, min(limit, EVENTS_LIMIT_MAX)))

    def latest_events(
        self, tenant_id: str, limit: int = 100, types: Sequence[str] | None = None
    ) -> list[Event]:
        """The tenant's newest events, newest first, of ``types`` only if given."""
        with self.ctx.store.reader() as r:
            return r.latest_events(tenant_id, max(1, min(limit, EVENTS_LIMIT_MAX)), types)

    def verify_audit(self, tenant_id: str) -> ChainVerification:
        return queries.verify_audit(self.ctx, tenant_id)

    def metrics(self, tenant_id: str | None = None) -> dict[str, object]:
        return queries.metrics(self.ctx, tenant_id)

    # Webhook delivery
    def dispatcher(self, **kw: Any) -> Dispatcher:
        """A dispatcher for this engine's outbox (same store, clock, ids and config).
        Keyword arguments go to ``Dispatcher``: transport, rng, owner, timer, config."""
        from mockpay_core.delivery.dispatcher import Dispatcher

        kw.setdefault("config", self.ctx.config.delivery)
        return Dispatcher(self.ctx.store, self.ctx.clock, self.ctx.ids, **kw)

    def deliveries(
        self, tenant_id: str, payment_id: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        with self.ctx.store.reader() as r:
            return r.deliveries(tenant_id, payment_id=payment_id, limit=max(1, min(limit, 1000)))

    def delivery_attempts(
        self, tenant_id: str | None, event_id: str | None = None, limit: int = 100
    ) -> list[Attempt]:
        with self.ctx.store.reader() as r:
            return r.attempts(tenant_id, event_id, max(1, min(limit, 10_000)))

    def dead_letters(self, tenant_id: str | None = None, limit: int = 50) -> list[Delivery]:
        return deliveries.dead_letters(self.ctx, tenant_id, limit)

    def replay_dead_letter(self, event_id: str, tenant_id: str | None = None) -> Delivery:
        return deliveries.replay(self.ctx, event_id, tenant_id)

    def recover_dead_letters(self, since: datetime, tenant_id: str | None = None) -> int:
        return deliveries.recover(self.ctx, since, tenant_id)

    def recent_deliveries(
        self, tenant_id: str | None, status: object = None, limit: int = 50
    ) -> list[Delivery]:
        """Deliveries of one status (pending soonest due first, delivering by lease, dead
        latest first, delivered or any newest first); every tenant's if None."""
        return overview.recent_deliveries(self.ctx, tenant_id, status, limit)

    def payments_per_minute(
        self, tenant_id: str | None = None, minutes: int = 60
    ) -> overview.MinuteCounts:
        """Payments created in each of the clock's last ``minutes`` minutes, by status."""
        return overview.payments_per_minute(self.ctx, tenant_id, minutes)

    def recent_fraud_decisions(self, tenant_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The fraud decisions on the tenant's newest payments: each rule, what it saw."""
        return overview.recent_decisions(self.ctx, tenant_id, limit)

    def payment_activity(
        self, tenant_id: str, payment_id: str, limit: int = 100
    ) -> list[tuple[Event, Delivery | None]]:
        """The payment's events, oldest first, each with its delivery (None: not sent)."""
        return overview.payment_activity(self.ctx, tenant_id, payment_id, limit)

    def next_delivery_due(self) -> datetime | None:
        with self.ctx.store.reader() as r:
            return r.next_delivery_due()

    def due_times(self) -> tuple[datetime | None, datetime | None]:
        """(next webhook delivery due, next authorization expiry): what a clock driver
        must stop at so nothing happens late."""
        with self.ctx.store.reader() as r:
            return r.next_delivery_due(), r.next_authorization_expiry()

    # Fraud rules
    def list_fraud_rules(self) -> list[FraudRule]:
        with self.ctx.store.reader() as r:
            return r.list_rules()

    def create_fraud_rule(self, spec: object, tenant_id: str | None = None) -> FraudRule:
        return fraud_rules.create(self.ctx, spec, tenant_id)

    def update_fraud_rule(self, rule_id: str, changes: dict[str, Any]) -> FraudRule:
        return fraud_rules.update(self.ctx, rule_id, changes)

    def set_fraud_rule_active(self, rule_id: str, active: bool | None = None) -> FraudRule:
        return fraud_rules.set_active(self.ctx, rule_id, active)

    def delete_fraud_rule(self, rule_id: str) -> None:
        fraud_rules.delete(self.ctx, rule_id)

    def _scoped(self, tenant_id: str, payment_id: str, read: Callable[[Reader], T]) -> T:
        """``read`` in a snapshot, if the payment is the tenant's; else ``NotFound``."""
        with self.ctx.store.reader() as r:
            if r.get_payment(tenant_id, payment_id) is None:
                raise NotFound("payment", payment_id)
            return read(r)
