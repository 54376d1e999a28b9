"""Turning phases and steps into timed requests, and each payment's life after creation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from mockpay_core.domain.model import Outcome, Payment
from mockpay_core.domain.money import CURRENCY_EXPONENTS
from mockpay_core.domain.states import Status
from mockpay_core.scenarios import traffic
from mockpay_core.scenarios.model import OutcomeSpec, PhaseSpec, StepSpec
from mockpay_core.scenarios.requests import Request
from mockpay_core.scenarios.runner import Client, ScenarioError
from mockpay_core.scenarios.target import Target


def _major(minor: int, currency: str) -> Decimal:
    return Decimal(max(minor, 1)).scaleb(-CURRENCY_EXPONENTS[currency])


class Planner:
    def __init__(self, world: Target, client: Client) -> None:
        self.w, self.client = world, client
        self.tenants = {}
        for spec in world.scenario.tenants:
            email = world.tenant_email(spec)
            self.tenants[spec.name] = world.engine.register_tenant(spec.name, email).tenant
        self.urls = {t.name: world.url(t.receiver) for t in world.scenario.tenants}
        self.aliases: dict[tuple[str, str], str] = {}
        self.planned = 0  # requests planned so far, for progress

    # Phases
    def phase(self, phase: PhaseSpec) -> None:
        start = self.w.start + phase.start
        if phase.burst is not None:
            self.w.at(start, lambda: self._burst(phase))
            self.planned += phase.burst.count
        else:
            arrivals = traffic.arrivals(phase, self.w.start, self.w.rng)
            self._next_arrival(phase, arrivals, 0)

    def _next_arrival(self, phase: PhaseSpec, arrivals: Iterator[datetime], n: int) -> None:
        when = next(arrivals, None)
        if when is None:
            return
        self.planned += 1

        def arrive() -> None:
            self._next_arrival(phase, arrivals, n + 1)  # keep one arrival ahead, never all
            self.client.send(self._create(phase, n))

        self.w.at(when, arrive)

    def _burst(self, phase: PhaseSpec) -> None:
        assert phase.burst is not None
        requests = [self._create(phase, n) for n in range(phase.burst.count)]
        self.client.send_all(requests, phase.burst.concurrency)

    def _create(self, phase: PhaseSpec, n: int) -> Request:
        rng, tenant = self.w.rng, self.tenants[phase.tenant]
        currency = traffic.choose(phase.currencies, rng)
        body: dict[str, Any] = {
            "amount": traffic.amount(phase.amount, currency, rng),
            "currency": currency,
            "webhook_url": self.urls[phase.tenant],
            "capture_method": phase.capture_method,
            "customer": traffic.customer(phase, rng),
        }
        key = phase.same_key or f"{phase.name}-{n}"
        retry = rng.random() < phase.client_retries.share

        def send() -> Outcome[Payment]:
            return self.w.engine.create_payment(tenant.id, idempotency_key=key, **body)

        def then(out: Outcome[Payment]) -> None:
            if retry:  # the client did not see the answer and sends it again
                again = Request(phase.name, phase.tenant, "create", key, send, attempt=2)
                self.w.later(phase.client_retries.delay, lambda: self.client.send(again))
            self._after_create(phase.name, phase.tenant, out.value, phase.outcome)

        return Request(phase.name, phase.tenant, "create", key, send, then)

    # A payment's life after creation
    def _do(
        self,
        source: str,
        tenant: str,
        action: str,
        key: str,
        delay: Any,
        call: Any,
        then: Any = None,
    ) -> None:
        request = Request(source, tenant, action, key, call, then)
        self.w.later(delay, lambda: self.client.send(request))

    def _after_create(self, source: str, tenant: str, p: Payment, spec: OutcomeSpec) -> None:
        rng, engine_tid = self.w.rng, p.tenant_id
        if p.status is Status.FLAGGED:
            if rng.random() < spec.review.p:
                verdict = "approve" if rng.random() < spec.review.approve_p else "reject"
                self._do(
                    source, tenant, "review", f"{p.idempotency_key}:review", spec.review.delay,
                    lambda: self.w.engine.review(engine_tid, p.id, verdict),
                    lambda out: self._after_create(source, tenant, out.value, spec),
                )  # fmt: skip
            return
        if p.status is not Status.PENDING:
            return
        key = p.idempotency_key
        if rng.random() < spec.cancel_p:
            call = lambda: self.w.engine.cancel(engine_tid, p.id, idempotency_key=f"{key}:cancel")  # noqa: E731
            self._do(source, tenant, "cancel", f"{key}:cancel", spec.delay, call)
            return
        status = "success" if rng.random() < spec.success_p else "failed"
        self._do(
            source, tenant, "simulate", f"{key}:simulate", spec.delay,
            lambda: self.w.engine.simulate(
                engine_tid, p.id, status, failure_code=spec.failure_code,
                idempotency_key=f"{key}:simulate",
            ),
            lambda out: self._after_approval(source, tenant, out.value, spec),
        )  # fmt: skip

    def _after_approval(self, source: str, tenant: str, p: Payment, spec: OutcomeSpec) -> None:
        rng, tid, key = self.w.rng, p.tenant_id, p.idempotency_key
        if p.status is Status.AUTHORIZED:
            if rng.random() < spec.capture.p:
                amount = _major(round(p.amount_minor * spec.capture.share), p.currency)
                cap_key = f"{key}:capture"
                self._do(
                    source, tenant, "capture", cap_key, spec.capture.delay,
                    lambda: self.w.engine.capture(tid, p.id, amount=amount, idempotency_key=cap_key),  # noqa: E501
                    lambda out: self._after_approval(source, tenant, out.value, spec),
                )  # fmt: skip
            return
        if p.status is not Status.SUCCESS:
            return
        if rng.random() < spec.refund.p:
            amount = _major(round(p.captured_minor * spec.refund.share), p.currency)
            self._do(
                source, tenant, "refund", f"{key}:refund", spec.refund.delay,
                lambda: self.w.engine.refund(tid, p.id, amount, idempotency_key=f"{key}:refund"),
            )  # fmt: skip
        if rng.random() < spec.dispute.p:
            lost = rng.random() < spec.dispute.lose_p

            def resolve(_: Any) -> None:
                self._do(
                    source, tenant, "resolve_dispute", f"{key}:resolve", spec.dispute.resolve_after,
                    lambda: self.w.engine.resolve_dispute(
                        tid, p.id, "lost" if lost else "won", idempotency_key=f"{key}:resolve"
                    ),
                )  # fmt: skip

            self._do(
                source, tenant, "open_dispute", f"{key}:dispute", spec.dispute.delay,
                lambda: self.w.engine.open_dispute(tid, p.id, idempotency_key=f"{key}:dispute"),
                resolve,
            )  # fmt: skip

    # Scripted steps
    def step(self, index: int, step: StepSpec) -> None:
        self.planned += step.repeat
        self.w.at(self.w.start + step.at, lambda: self._run_step(index, step))

    def _run_step(self, index: int, step: StepSpec) -> None:
        tenant_id = self.tenants[step.tenant].id
        if step.do == "rotate_secret":
            self.w.engine.rotate_webhook_secret(tenant_id)
            return
        if step.do == "run_due":
            self.w.engine.run_due()
            return
        requests = [self._step_request(index, step, i) for i in range(step.repeat)]
        if step.concurrency > 1:
            self.client.send_all(requests, step.concurrency)
        else:
            for req in requests:
                self.client.send(req)

    def _payment_id(self, index: int, step: StepSpec) -> str:
        alias = step.payment
        if alias is None or (step.tenant, alias) not in self.aliases:
            raise ScenarioError(
                f"steps.{index}: {step.do} needs `payment:` naming the key of a payment"
                f" {step.tenant} created earlier (got {alias!r})"
            )
        return self.aliases[(step.tenant, alias)]

    def _step_request(self, index: int, step: StepSpec, i: int) -> Request:
        e, tid = self.w.engine, self.tenants[step.tenant].id
        key = step.key or f"step{index}"
        if step.vary_key:
            key = f"{key}-{i}"
        source = f"step{index}"
        if step.do == "create":
            body = {
                "amount": step.amount or 100, "currency": step.currency, "customer": step.customer,
                "capture_method": step.capture_method, "webhook_url": self.urls[step.tenant],
            }  # fmt: skip

            def created(out: Outcome[Payment]) -> None:
                self.aliases[(step.tenant, key)] = out.value.id

            return Request(
                source, step.tenant, "create", key,
                lambda: e.create_payment(tid, idempotency_key=key, **body), created,
            )  # fmt: skip
        pid = self._payment_id(index, step)
        amount, reason, k = step.amount, step.reason, key
        calls = {
            "simulate": lambda: e.simulate(tid, pid, step.status, idempotency_key=k),
            "capture": lambda: e.capture(tid, pid, amount=amount, idempotency_key=k),
            "cancel": lambda: e.cancel(tid, pid, reason=reason, idempotency_key=k),
            "refund": lambda: e.refund(tid, pid, amount or 1, reason=reason, idempotency_key=k),
            "open_dispute": lambda: e.open_dispute(
                tid, pid, amount=amount, reason=reason, idempotency_key=k
            ),
            "resolve_dispute": lambda: e.resolve_dispute(tid, pid, step.outcome, idempotency_key=k),
            "review": lambda: e.review(tid, pid, step.decision, idempotency_key=k),
        }
        return Request(source, step.tenant, step.do, key, calls[step.do])
