"""What a scenario is played against: the in-process engine (``runner.World``) or a live
server (``remote_run.RemoteWorld``). The planner, the client and ``play`` see only this."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from mockpay_core.clock import SimulatedClock
from mockpay_core.domain.fraud import FraudRule
from mockpay_core.domain.model import (
    DisputeReceipt,
    NewTenant,
    Outcome,
    Payment,
    RefundReceipt,
    Tenant,
)
from mockpay_core.scenarios.model import Scenario, TenantSpec
from mockpay_core.scenarios.requests import RequestLog

Action = Callable[[], None]


class PaymentApi(Protocol):
    """The commands a scenario sends: ``Engine``'s own signatures."""

    def register_tenant(
        self, name: object, email: object, rate_limit_tier: object = None
    ) -> NewTenant: ...
    def rotate_webhook_secret(self, tenant_id: str) -> Tenant: ...
    def create_payment(self, tenant_id: str, **request: Any) -> Outcome[Payment]: ...
    def simulate(
        self, tenant_id: str, payment_id: str, status: object, **kw: Any
    ) -> Outcome[Payment]: ...
    def capture(self, tenant_id: str, payment_id: str, **kw: Any) -> Outcome[Payment]: ...
    def cancel(self, tenant_id: str, payment_id: str, **kw: Any) -> Outcome[Payment]: ...
    def review(
        self, tenant_id: str, payment_id: str, decision: object, **kw: Any
    ) -> Outcome[Payment]: ...
    def refund(
        self, tenant_id: str, payment_id: str, amount: object, **kw: Any
    ) -> Outcome[RefundReceipt]: ...
    def open_dispute(
        self, tenant_id: str, payment_id: str, **kw: Any
    ) -> Outcome[DisputeReceipt]: ...
    def resolve_dispute(
        self, tenant_id: str, payment_id: str, outcome: object, **kw: Any
    ) -> Outcome[DisputeReceipt]: ...
    def create_fraud_rule(self, spec: object, tenant_id: str | None = None) -> FraudRule: ...
    def run_due(self) -> dict[str, int]: ...


class Target(Protocol):
    """A run's world: the API, a clock the runner moves, the agenda and the logs."""

    scenario: Scenario
    start: datetime
    clock: SimulatedClock
    rng: random.Random
    log: RequestLog
    agenda: list[tuple[datetime, int, Action]]

    @property
    def engine(self) -> PaymentApi: ...
    def url(self, receiver: str) -> str: ...
    def tenant_email(self, spec: TenantSpec) -> str: ...
    def at(self, when: datetime, action: Action) -> None: ...
    def later(self, delay: timedelta, action: Action) -> None: ...
    def advance_to(self, when: datetime) -> None: ...
    def changed(self) -> None: ...
    def flush(self) -> None:
        """Make every write so far visible to other threads' connections."""
        ...
