"""Delivery on the simulated clock with simulated receivers: days of retries in seconds."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import timedelta

import httpx
import pytest

from mockpay_core import Engine, SimulatedClock, Tenant
from mockpay_core.config import DeliveryConfig
from mockpay_core.delivery.simulated import (
    Outage,
    ReceiverModel,
    SimulatedReceiver,
    SimulatedTransport,
)
from mockpay_core.domain.retry import ORIGINAL, STANDARD_WEBHOOKS, DeliveryStatus, RetrySchedule
from mockpay_core.errors import DeliveryNotDead, NotFound, ValidationError
from tests.engine.helpers import HOOK, captured, create


def wire(engine: Engine, model: ReceiverModel, seed: int = 3, **config: object):  # type: ignore[no-untyped-def]
    receiver = SimulatedReceiver(model)
    transport = SimulatedTransport({"*": receiver}, engine.clock, random.Random(seed))
    cfg = DeliveryConfig(**config)  # type: ignore[arg-type]
    dispatcher = engine.dispatcher(transport=transport, rng=random.Random(seed), config=cfg)
    return receiver, dispatcher


def drain(engine: Engine, dispatcher, clock: SimulatedClock, days: float = 30) -> None:  # type: ignore[no-untyped-def]
    """Deliver, advancing the simulated clock to each next due time, until nothing is left."""
    end = clock.now() + timedelta(days=days)
    for _ in range(100_000):
        dispatcher.run_until_idle()
        due = engine.next_delivery_due()
        if due is None or due > end:
            return
        clock.set(max(due, clock.now()))
    raise AssertionError("deliveries did not settle")


def test_every_event_is_delivered_signed_and_recorded(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    receiver, dispatcher = wire(engine, ReceiverModel())
    paid = [captured(engine, tenant.id, 10 + i) for i in range(5)]
    assert dispatcher.run_once() == 5
    assert {r.webhook_id for r in receiver.received} == {e.id for e in engine.events(tenant.id)}
    assert {r.payment_id for r in receiver.received if r.outcome == "processed"} == {
        p.id for p in paid
    }
    attempts = engine.delivery_attempts(tenant.id)
    assert [(a.attempt, a.status_code, a.succeeded) for a in attempts] == [(1, 200, True)] * 5
    assert all(a.duration_ms == 20.0 and a.response_excerpt == '{"ok":true}' for a in attempts)
    webhooks = engine.metrics()["webhooks"]
    assert webhooks["dlq_depth"] == 0 and webhooks["by_status"]["delivered"] == 5  # type: ignore[index]
    assert dispatcher.run_once() == 0


def test_an_outage_longer_than_the_schedule_then_replay_loses_nothing(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    down = Outage(start=clock.now(), end=clock.now() + timedelta(days=3))
    receiver, dispatcher = wire(engine, ReceiverModel(outages=(down,)))
    for i in range(20):
        captured(engine, tenant.id, 1 + i)
    drain(engine, dispatcher, clock)
    dead = engine.dead_letters(tenant.id, limit=100)
    assert len(dead) == 20 and {d.dead_reason for d in dead} == {"attempts_exhausted"}
    assert all(d.attempts == STANDARD_WEBHOOKS.attempts_max for d in dead)
    assert receiver.processed == set()
    clock.set(down.end)
    assert engine.recover_dead_letters(since=clock.now() - timedelta(days=30)) == 20
    drain(engine, dispatcher, clock)
    emitted = {e.id for e in engine.events(tenant.id, limit=1000)}
    assert receiver.processed == emitted and len(emitted) == 20
    assert engine.dead_letters(tenant.id) == []


def test_attempt_times_fall_within_the_jitter_bounds(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    _, dispatcher = wire(engine, ReceiverModel(error_rate=1.0))
    p = captured(engine, tenant.id)
    drain(engine, dispatcher, clock)
    (event,) = engine.events(tenant.id, p.id)
    sent = [a.sent_at for a in engine.delivery_attempts(tenant.id, event.id)]
    assert len(sent) == 8 and sent[0] == event.created_at
    for i, (before, after) in enumerate(itertools.pairwise(sent), start=1):
        base = STANDARD_WEBHOOKS.delays_s[i]
        assert base * 0.9 <= (after - before).total_seconds() <= base * 1.1


def test_a_flaky_receiver_still_gets_every_event(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    model = ReceiverModel(error_rate=0.5, timeout_rate=0.1)
    receiver, dispatcher = wire(engine, model, batch_size=200)
    for i in range(500):
        p = captured(engine, tenant.id, 1 + i % 50)
        engine.refund(tenant.id, p.id, 0.5)
    emitted = {d.event_id for d in engine.deliveries(tenant.id, limit=1000)}
    assert len(emitted) == 1000
    drain(engine, dispatcher, clock)
    # 60 % of attempts fail, so 0.6**8 = 1.7 % of events exhaust all 8 attempts: the DLQ
    # holds them, and a recovery delivers them. Nothing is lost on the way.
    dead = engine.dead_letters(tenant.id, limit=1000)
    assert 0 < len(dead) < 50
    assert engine.recover_dead_letters(since=clock.now() - timedelta(days=60)) == len(dead)
    drain(engine, dispatcher, clock)
    outcomes = Counter(r.outcome for r in receiver.received)
    assert outcomes["error_500"] > 500 and outcomes["timeout"] > 100
    assert receiver.processed == emitted
    assert engine.dead_letters(tenant.id) == []


def test_a_receiver_that_fails_after_processing_sees_duplicates_it_dedupes(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    model = ReceiverModel(error_rate=0.5, processes_before_failing=True)
    receiver, dispatcher = wire(engine, model)
    for _ in range(50):
        captured(engine, tenant.id)
    drain(engine, dispatcher, clock)
    by_id = Counter(r.webhook_id for r in receiver.received)
    assert max(by_id.values()) > 1  # duplicates arrived, with the same webhook-id
    assert receiver.effects_applied == len(receiver.processed) == 50


def test_per_payment_order_later_events_wait_for_earlier_ones(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    outage = Outage(start=clock.now(), end=clock.now() + timedelta(minutes=10))
    receiver, dispatcher = wire(engine, ReceiverModel(outages=(outage,)))
    p = captured(engine, tenant.id, 100)
    engine.refund(tenant.id, p.id, 10)
    engine.refund(tenant.id, p.id, 20)
    dispatcher.run_once()
    assert [r.event_type for r in receiver.received] == ["payment.success"]  # only the first
    drain(engine, dispatcher, clock)
    delivered = [r for r in receiver.received if r.outcome == "processed"]
    expected = [e.id for e in engine.events(tenant.id, p.id)]
    assert [r.webhook_id for r in delivered] == expected


def test_410_gone_disables_the_endpoint_until_a_replay(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    receiver, dispatcher = wire(engine, ReceiverModel(gone=True))
    first = captured(engine, tenant.id)
    dispatcher.run_once()
    second = captured(engine, tenant.id)
    dispatcher.run_once()
    reasons = {d.payment_id: d.dead_reason for d in engine.dead_letters(tenant.id)}
    assert reasons == {first.id: "endpoint_gone", second.id: "endpoint_disabled"}
    assert len(receiver.received) == 1  # a disabled endpoint is not called at all
    receiver.model = ReceiverModel()
    event = engine.events(tenant.id, second.id)[0]
    assert engine.replay_dead_letter(event.id, tenant.id).status is DeliveryStatus.PENDING
    dispatcher.run_once()
    assert event.id in receiver.processed


def test_retry_after_is_honoured(engine: Engine, tenant: Tenant, clock: SimulatedClock) -> None:
    model = ReceiverModel(error_rate=1.0, error_status=429, retry_after_s=600)
    _, dispatcher = wire(engine, model, schedule=RetrySchedule(delays_s=(0, 5, 5), jitter=0))
    p = captured(engine, tenant.id)
    dispatcher.run_once()
    (delivery,) = engine.deliveries(tenant.id, p.id)
    assert delivery.next_attempt_at == clock.now() + timedelta(seconds=600)
    assert delivery.last_error == "http_429"


def test_the_originals_schedule_is_a_preset(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    _, dispatcher = wire(engine, ReceiverModel(error_rate=1.0), schedule=ORIGINAL)
    captured(engine, tenant.id)
    drain(engine, dispatcher, clock)
    (dead,) = engine.dead_letters(tenant.id)
    assert dead.attempts == 3
    assert (dead.dead_at - dead.created_at).total_seconds() == 4  # type: ignore[operator]


def test_an_expired_lease_resends_with_the_same_webhook_id(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    receiver, dispatcher = wire(engine, ReceiverModel())
    p = captured(engine, tenant.id)
    with engine.store.unit_of_work() as uow:  # a dispatcher claims, then dies before recording
        (claim,) = uow.claim_deliveries(
            clock.now(), 10, clock.now() + timedelta(seconds=60), "dead-one"
        )
    assert dispatcher.run_once() == 0  # leased: nobody else may send it
    clock.advance(60)
    assert dispatcher.run_once() == 1
    (event,) = engine.events(tenant.id, p.id)
    assert receiver.received[0].webhook_id == event.id == claim.event_id
    (attempt,) = engine.delivery_attempts(tenant.id, event.id)
    assert attempt.attempt == 2  # attempt 1 was the dead dispatcher's
    with engine.store.unit_of_work() as uow:  # the late dispatcher cannot overwrite the outcome
        assert not uow.finish_delivery(event.id, "dead-one", DeliveryStatus.DEAD, clock.now())


def test_secret_rotation_signs_with_both_during_the_grace_period(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    dispatcher = engine.dispatcher(transport=httpx.MockTransport(handler))
    engine.rotate_webhook_secret(tenant.id)
    captured(engine, tenant.id)
    dispatcher.run_once()
    clock.advance(timedelta(hours=24))
    captured(engine, tenant.id)
    dispatcher.run_once()
    assert [len(r.headers["webhook-signature"].split()) for r in seen] == [2, 1]


def test_dead_letter_errors(engine: Engine, tenant: Tenant) -> None:
    with pytest.raises(NotFound):
        engine.replay_dead_letter("nope")
    p = captured(engine, tenant.id)
    (event,) = engine.events(tenant.id, p.id)
    with pytest.raises(DeliveryNotDead):
        engine.replay_dead_letter(event.id, tenant.id)
    other = engine.register_tenant("Other", "o@x.test").tenant
    with pytest.raises(NotFound):
        engine.replay_dead_letter(event.id, other.id)
    with pytest.raises(ValidationError):
        engine.recover_dead_letters(since="yesterday")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        engine.dead_letters(limit=0)


def test_private_webhook_urls_are_refused_at_creation(engine: Engine, tenant: Tenant) -> None:
    for url in (
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/",
        "http://0x0a000001/",
    ):
        with pytest.raises(ValidationError, match="webhook_url"):
            create(engine, tenant.id, webhook_url=url)
    assert create(engine, tenant.id, webhook_url=HOOK).webhook_url == HOOK


class _CreatesWhileSending(httpx.BaseTransport):
    """Passes requests on; the first one also makes one more payment (and its event)."""

    def __init__(self, inner: httpx.BaseTransport, make: object) -> None:
        self.inner, self.make, self.made = inner, make, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.made:
            self.made += 1
            self.make()  # type: ignore[operator]
        return self.inner.handle_request(request)


def test_run_backlog_stops_after_a_batch_that_is_not_full(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    receiver = SimulatedReceiver(ReceiverModel())
    inner = SimulatedTransport({"*": receiver}, engine.clock, random.Random(3))
    transport = _CreatesWhileSending(inner, lambda: captured(engine, tenant.id, 99))
    config = DeliveryConfig(batch_size=5)
    dispatcher = engine.dispatcher(transport=transport, rng=random.Random(3), config=config)
    for i in range(3):
        captured(engine, tenant.id, 10 + i)
    assert dispatcher.run_backlog() == 3  # not a full batch: the event made meanwhile waits
    assert dispatcher.run_backlog() == 1
    for i in range(12):
        captured(engine, tenant.id, 20 + i)
    assert dispatcher.run_backlog() == 12  # 5 and 5 (full: go on), then 2
    assert len(receiver.received) == 16
