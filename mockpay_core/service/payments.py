"""Payment commands: create (with fraud), simulate, capture, cancel, review, expire.

Each validates its input first (a ``ValidationError`` is never stored for replay), then runs
one unit of work through ``idempotency.run``: lock, read, decide with the pure domain, write
through ``transitions.apply``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from mockpay_core.domain import validation as v
from mockpay_core.domain.addresses import AddressPolicy, AddressRefused, check_url
from mockpay_core.domain.fraud import Outcome as FraudOutcome
from mockpay_core.domain.fraud import PaymentFacts, decide, window_queries
from mockpay_core.domain.model import CaptureMethod, Outcome, Payment
from mockpay_core.domain.money import format_major, parse_currency, positive, to_minor
from mockpay_core.domain.states import Action, Status, check_allowed
from mockpay_core.domain.validation import collect
from mockpay_core.errors import (
    AmountExceeded,
    AuthorizationExpired,
    InvalidTransition,
    NotFound,
    ValidationError,
)
from mockpay_core.service import idempotency, transitions
from mockpay_core.service.context import Context
from mockpay_core.storage.protocol import UnitOfWork


class Rng(Protocol):
    def random(self) -> float: ...


FAILURE_CODES = ("card_declined", "insufficient_funds", "expired_card", "processing_error")
EXPIRED_REASON = "authorization_expired"  # the cancellation reason of an expired authorization
PAYMENT_METHOD_LEN_MAX = 255


def _webhook_url(ctx: Context, value: object) -> str:
    if not isinstance(value, str):
        return v.webhook_url(value)  # raises the right ValidationError
    return _checked_url(value, ctx.config.delivery.address_policy)


@functools.lru_cache(maxsize=4096)
def _checked_url(value: str, policy: AddressPolicy) -> str:
    """A well-formed URL whose literal address (if any) the SSRF policy allows. Cached:
    tenants send the same few URLs over and over."""
    url = v.webhook_url(value)
    try:
        check_url(url, policy)
    except AddressRefused as exc:
        raise ValidationError(str(exc), "webhook_url") from None
    return url


def _currency_or_usd(currency: object) -> str:
    """The currency to check an amount's decimals against while the currency is itself bad."""
    try:
        return parse_currency(currency)
    except ValidationError:
        return "USD"


def locked_payment(uow: UnitOfWork, tenant_id: str, payment_id: str) -> Payment:
    payment = uow.lock_payment(tenant_id, payment_id)
    if payment is None:
        raise NotFound("payment", payment_id)
    return payment


def create(ctx: Context, tenant_id: str, **request: Any) -> Outcome[Payment]:
    return prepare_create(ctx, tenant_id, **request)()


def prepare_create(
    ctx: Context,
    tenant_id: str,
    *,
    amount: object,
    currency: object,
    webhook_url: object,
    idempotency_key: object,
    capture_method: object = "automatic",
    customer: object = None,
    description: object = None,
    metadata: object = None,
    payment_method: object = None,
    request_extra: object = None,
    triggered_by: str = "create_api",
) -> Callable[[], Outcome[Payment]]:
    """Validate a create now (``ValidationError`` naming every bad field) and fingerprint
    it; the call returned runs its unit of work. A server validates on its event loop and
    runs only the call where writes wait their turn. ``request_extra``: more of the
    client's request, stored nowhere but part of the fingerprint (the same key with other
    extras is ``idempotency_key_reused``)."""
    key, cur, amount_minor, url, method, cust, desc, meta, pm, extra = collect(
        lambda: v.idempotency_key(idempotency_key, required=True),
        lambda: parse_currency(currency),
        lambda: to_minor(amount, _currency_or_usd(currency)),
        lambda: _webhook_url(ctx, webhook_url),
        lambda: CaptureMethod(v.choice(capture_method, "capture_method", tuple(CaptureMethod))),
        lambda: v.optional_text(customer, "customer", v.CUSTOMER_LEN_MAX),
        lambda: v.optional_text(description, "description", v.DESCRIPTION_LEN_MAX),
        lambda: v.metadata(metadata),
        lambda: v.optional_text(payment_method, "payment_method", PAYMENT_METHOD_LEN_MAX),
        lambda: v.metadata(request_extra) if request_extra is not None else None,
    )
    request: dict[str, Any] = {
        "amount_minor": amount_minor, "currency": cur, "webhook_url": url,
        "capture_method": method.value, "customer": cust, "description": desc, "metadata": meta,
    }  # fmt: skip
    if pm is not None:  # only when given: /api's fingerprints stay as they were
        request["payment_method"] = pm
    if extra:
        request["extra"] = extra

    def ahead(uow: UnitOfWork, now: datetime) -> None:
        facts = PaymentFacts(tenant_id, amount_minor, cur, cust, now)
        uow.expect_window_stats(tenant_id, lambda rules: window_queries(rules, facts))

    def execute(uow: UnitOfWork, now: datetime) -> Payment:
        if not uow.lock_tenant(tenant_id):
            raise NotFound("tenant", tenant_id)
        rules = uow.active_rules(tenant_id)
        facts = PaymentFacts(tenant_id, amount_minor, cur, cust, now)
        decision = decide(rules, facts, uow.window_stats(tenant_id, window_queries(rules, facts)))
        payment = Payment(
            id=ctx.ids.uuid(), tenant_id=tenant_id, amount_minor=amount_minor, currency=cur,
            status=decision.status, capture_method=method, webhook_url=url, idempotency_key=key,
            created_at=now, updated_at=now, customer=cust, description=desc, metadata=meta,
            failure_code="fraud_blocked" if decision.outcome is FraudOutcome.BLOCK else None,
            payment_method=pm,
        )  # fmt: skip
        fired = [e["name"] for e in decision.fired]
        transitions.apply(
            uow, ctx, now, None, payment, Action.CREATE, triggered_by,
            metadata={"fraud_outcome": decision.outcome.value, "rules_fired": fired},
            payload_extra={"rules_fired": fired} if fired else None,
        )  # fmt: skip
        uow.insert_decision(ctx.ids.uuid(), payment, decision)
        return payment

    fp = idempotency.fingerprint("create_payment", None, request)
    return functools.partial(
        idempotency.run, ctx, tenant_id, key, "create_payment", fp, execute, Payment.from_data,
        ahead,
    )  # fmt: skip


def command(
    ctx: Context,
    tenant_id: str,
    payment_id: str,
    key: str | None,
    operation: str,
    params: dict[str, Any],
    step: Any,
) -> Outcome[Payment]:
    """Run ``step(uow, now, payment) -> Payment`` on the locked payment, idempotently."""

    def execute(uow: UnitOfWork, now: datetime) -> Payment:
        result: Payment = step(uow, now, locked_payment(uow, tenant_id, payment_id))
        return result

    fp = idempotency.fingerprint(operation, payment_id, params)
    return idempotency.run(ctx, tenant_id, key, operation, fp, execute, Payment.from_data)


def simulate(
    ctx: Context,
    tenant_id: str,
    payment_id: str,
    status: object,
    *,
    failure_code: object = None,
    idempotency_key: object = None,
    triggered_by: str = "simulate_api",
) -> Outcome[Payment]:
    """Play the card network's answer: ``success`` (captured, or authorized for manual
    capture) or ``failed`` with a ``failure_code``."""
    outcome, code, key = collect(
        lambda: v.choice(status, "status", (Status.SUCCESS.value, Status.FAILED.value)),
        lambda: v.choice(failure_code or "card_declined", "failure_code", FAILURE_CODES),
        lambda: v.idempotency_key(idempotency_key, required=False),
    )

    def step(uow: UnitOfWork, now: datetime, p: Payment) -> Payment:
        changes: dict[str, Any]
        if outcome == Status.FAILED.value:
            action, changes = Action.FAIL, {"status": Status.FAILED, "failure_code": code}
        elif p.capture_method is CaptureMethod.MANUAL:
            expires_at = now + timedelta(seconds=ctx.config.authorization_ttl_s)
            action, changes = (
                Action.AUTHORIZE,
                {"status": Status.AUTHORIZED, "expires_at": expires_at},
            )
        else:
            action, changes = (
                Action.SUCCEED,
                {"status": Status.SUCCESS, "captured_minor": p.amount_minor},
            )
        check_allowed(p.status, action, f"Invalid transition from {p.status} to {outcome}")
        after = dataclasses.replace(p, updated_at=now, **changes)
        meta = {"failure_code": code} if action is Action.FAIL else {}
        transitions.apply(uow, ctx, now, p, after, action, triggered_by, meta, meta)
        return after

    params = {"status": outcome, "failure_code": code}
    return command(ctx, tenant_id, payment_id, key, "simulate", params, step)


def capture(
    ctx: Context,
    tenant_id: str,
    payment_id: str,
    *,
    amount: object = None,
    idempotency_key: object = None,
    triggered_by: str = "capture_api",
) -> Outcome[Payment]:
    """Capture an authorization, fully or in part (the rest is released)."""
    key, shape = collect(
        lambda: v.idempotency_key(idempotency_key, required=False),
        lambda: None if amount is None else positive(amount, "amount"),
    )

    def step(uow: UnitOfWork, now: datetime, p: Payment) -> Payment:
        check_allowed(p.status, Action.CAPTURE)
        if p.expires_at is not None and now >= p.expires_at:
            raise AuthorizationExpired(f"The authorization expired at {p.expires_at.isoformat()}")
        captured = p.amount_minor if amount is None else to_minor(amount, p.currency)
        if captured > p.amount_minor:
            raise AmountExceeded(
                f"Capture amount {format_major(captured, p.currency)} exceeds the authorized"
                f" amount {format_major(p.amount_minor, p.currency)}"
            )
        after = dataclasses.replace(
            p, status=Status.SUCCESS, captured_minor=captured, expires_at=None, updated_at=now
        )
        meta = {"captured_minor": captured, "released_minor": p.amount_minor - captured}
        captured_major = format_major(captured, p.currency, transitions.PAYLOAD_AMOUNT_PLACES)
        transitions.apply(
            uow, ctx, now, p, after, Action.CAPTURE, triggered_by, meta,
            {"captured_amount": captured_major},
        )  # fmt: skip
        return after

    params = {"amount": None if shape is None else str(shape)}
    return command(ctx, tenant_id, payment_id, key, "capture", params, step)


def cancel(
    ctx: Context,
    tenant_id: str,
    payment_id: str,
    *,
    reason: object = None,
    cancellation_reason: object = None,
    idempotency_key: object = None,
    triggered_by: str = "cancel_api",
) -> Outcome[Payment]:
    """Void a pending payment or an uncaptured authorization. ``reason`` goes to the audit
    row; ``cancellation_reason`` (the Stripe face's) is also kept on the payment."""
    why, kept, key = collect(
        lambda: v.optional_text(reason, "reason", v.REASON_LEN_MAX),
        lambda: v.optional_text(cancellation_reason, "cancellation_reason", v.REASON_LEN_MAX),
        lambda: v.idempotency_key(idempotency_key, required=False),
    )
    why = why or kept

    def step(uow: UnitOfWork, now: datetime, p: Payment) -> Payment:
        check_allowed(p.status, Action.CANCEL)
        after = dataclasses.replace(
            p, status=Status.CANCELED, expires_at=None, updated_at=now, cancellation_reason=kept
        )
        meta = {"reason": why} if why else {}
        transitions.apply(uow, ctx, now, p, after, Action.CANCEL, triggered_by, meta, meta)
        return after

    params = {"reason": why, **({"cancellation_reason": kept} if kept else {})}
    return command(ctx, tenant_id, payment_id, key, "cancel", params, step)


def review(
    ctx: Context,
    tenant_id: str,
    payment_id: str,
    decision: object,
    *,
    idempotency_key: object = None,
    triggered_by: str = "review_admin",
) -> Outcome[Payment]:
    """An admin's verdict on a ``flagged`` payment: ``approve`` (-> pending) or ``reject``."""
    verdict, key = collect(
        lambda: v.choice(decision, "decision", ("approve", "reject")),
        lambda: v.idempotency_key(idempotency_key, required=False),
    )

    def step(uow: UnitOfWork, now: datetime, p: Payment) -> Payment:
        changes: dict[str, Any]
        if verdict == "approve":
            action, changes = Action.APPROVE, {"status": Status.PENDING}
        else:
            action, changes = (
                Action.REJECT,
                {"status": Status.FAILED, "failure_code": "fraud_rejected"},
            )
        check_allowed(p.status, action)
        after = dataclasses.replace(p, updated_at=now, **changes)
        transitions.apply(uow, ctx, now, p, after, action, triggered_by)
        return after

    return command(ctx, tenant_id, payment_id, key, "review", {"decision": verdict}, step)


def settle_pending(
    ctx: Context, after_s: float, success_p: float, rng: Rng, limit: int = 1000
) -> int:
    """The outcome model: pending payments older than ``after_s`` are settled, succeeding
    with probability ``success_p`` (so integration tests get webhooks without simulate)."""
    cutoff = ctx.clock.now() - timedelta(seconds=after_s)
    with ctx.store.reader() as r:
        due = r.pending_before(cutoff, limit)
    settled = 0
    for p in due:
        outcome = "success" if rng.random() < success_p else "failed"
        try:
            simulate(ctx, p.tenant_id, p.id, outcome, triggered_by="auto_settlement")
            settled += 1
        except InvalidTransition:  # settled by its client meanwhile
            continue
    return settled


def expire_authorizations(ctx: Context, limit: int = 1000) -> int:
    """Cancel every authorization past its expiry (at most ``limit``); how many were."""
    now = ctx.clock.now()
    with ctx.store.unit_of_work() as uow:
        due = uow.due_authorizations(now, limit)
        for p in due:
            after = dataclasses.replace(
                p, status=Status.CANCELED, expires_at=None, updated_at=now,
                cancellation_reason=EXPIRED_REASON,
            )  # fmt: skip
            meta = {"reason": EXPIRED_REASON}
            transitions.apply(uow, ctx, now, p, after, Action.EXPIRE, "expiry_sweep", meta, meta)
    return len(due)
