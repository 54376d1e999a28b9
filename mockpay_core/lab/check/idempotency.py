"""Notebook 2's checks: each finds the truth by running the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mockpay_core.clock import SimulatedClock
from mockpay_core.config import EngineConfig
from mockpay_core.engine import Engine
from mockpay_core.errors import IdempotencyKeyReused
from mockpay_core.ids import SeededIds
from mockpay_core.lab import idempotency
from mockpay_core.lab.check.verdict import Verdict, unanswered

HOOK = "http://shop.receiver.test/webhooks"
START = datetime(2026, 1, 1, tzinfo=UTC)


def duplicate_charges(answer: int | None, requests: int = 50) -> Verdict:
    """Try this 1: payments created by ``requests`` concurrent retries with the
    idempotency layer off."""
    if answer is None:
        return unanswered(f"the number of payments {requests} retries create")
    created = idempotency.charges(idempotency.retry_storm(idempotency=False, requests=requests))
    if answer == created["payments"]:
        return Verdict(True, "with nothing to recognise a retry by, every request is a new"
                       " charge: the damage grows one for one with the retries.")  # fmt: skip
    if answer == 1:
        return Verdict(False, "one is what the key buys. The switch is off here: what stops"
                       " a second request from charging again?")  # fmt: skip
    return Verdict(False, "count the distinct `payment_id`s in the storm's frame"
                   " (`idempotency.charges` does it).")  # fmt: skip


def _retry_is_new(ttl_s: int, after_s: int) -> bool:
    clock = SimulatedClock(START)
    config = EngineConfig(idempotency_ttl_s=ttl_s, seed_default_fraud_rules=False)
    with Engine.open(":memory:", clock=clock, ids=SeededIds(1), config=config) as e:
        tenant = e.register_tenant("Lab", "lab@shop.test").tenant.id

        def send() -> str:
            return e.create_payment(tenant, amount=10, currency="USD", webhook_url=HOOK,
                                    idempotency_key="order-1").value.id  # fmt: skip

        first = send()
        clock.advance(timedelta(seconds=after_s))
        return send() != first


def key_expiry_second(answer: int | None, ttl_s: int = 60) -> Verdict:
    """Try this 3: the first whole second after the first request at which a retry with
    the same key creates a second payment, with ``idempotency_ttl_s=ttl_s``."""
    if answer is None:
        return unanswered("a number of seconds")
    if answer < 0:
        return Verdict(False, "seconds after the first request are never negative.")
    if _retry_is_new(ttl_s, answer) and (answer == 0 or not _retry_is_new(ttl_s, answer - 1)):
        return Verdict(True, "a key is remembered for its TTL and not a moment longer: a"
                       " retry that late is a new request, and charges again.")  # fmt: skip
    if _retry_is_new(ttl_s, answer):
        return Verdict(False, "a retry then does charge again, but so does one a second"
                       " earlier: look for the first.")  # fmt: skip
    return Verdict(False, "at that second the key still replays the first answer: wait"
                   " longer on the simulated clock (`clock.advance`).")  # fmt: skip


CHANGES = {"customer": "cus_someone_else", "capture_method": "manual"}


def _refused_with_change(field: str) -> bool:
    config = EngineConfig(seed_default_fraud_rules=False)
    with Engine.open(":memory:", clock=SimulatedClock(START), ids=SeededIds(2),
                     config=config) as e:  # fmt: skip
        tenant = e.register_tenant("Lab", "lab@shop.test").tenant.id
        order = {"currency": "USD", "webhook_url": HOOK, "idempotency_key": "order-1"}
        e.create_payment(tenant, amount=100, **order)
        try:
            e.create_payment(tenant, amount=100, **order, **{field: CHANGES[field]})
        except IdempotencyKeyReused:
            return True
        return False


def changed_field(answer: bool | None, field: str = "customer") -> Verdict:
    """Try this 2: is a retry with the same key and only ``field`` changed (``customer``
    or ``capture_method``) a different request? True or False."""
    if answer is None:
        return unanswered("True (a different request) or False (the same one)")
    if field not in CHANGES:
        return Verdict(False, f"try one of {', '.join(CHANGES)}.")
    if answer is _refused_with_change(field):
        return Verdict(
            True,
            "the key stands for the whole request the client sent the first time: any field"
            " that could change what is charged, or to whom, or how, makes it a different"
            " request, refused rather than half-replayed.",
        )
    return Verdict(False, f"send it with `{field}` changed and read what comes back: a"
                   " replay of the first answer, or an error?")  # fmt: skip
