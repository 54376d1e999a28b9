"""The storage contract for the webhook delivery queue: claims and leases, attempts,
settling, disabled endpoints, the dead-letter queue and its replay, run against every
adapter in ``tests.conftest.STORES``."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from mockpay_core.domain.delivery import Attempt, Claim, Delivery
from mockpay_core.domain.model import Event
from mockpay_core.domain.retry import DeliveryStatus
from mockpay_core.storage.protocol import Store
from tests.conftest import START
from tests.contract.test_store_contract import payment, tenant

S = timedelta(seconds=1)
LEASE = START + 60 * S
PENDING, DELIVERING = DeliveryStatus.PENDING, DeliveryStatus.DELIVERING
DELIVERED, DEAD = DeliveryStatus.DELIVERED, DeliveryStatus.DEAD
ZONE = timezone(timedelta(hours=2))


def event(n: int, payment_n: int, seconds: int = 0, tenant_id: str = "t1") -> Event:
    return Event(f"e{n}", tenant_id, f"p{payment_n:03d}", "payment.created", {"n": n},
                 START + seconds * S)  # fmt: skip


def attempt(event_id: str, n: int, sent: datetime, ok: bool, tenant_id: str = "t1") -> Attempt:
    return Attempt(
        f"{event_id}-{n}", event_id, tenant_id, n, "http://h/", START, sent, 12.5,
        200 if ok else 503, None, "ok" if ok else "busy", ok,
    )  # fmt: skip


@pytest.fixture
def queue(store: Store) -> Store:
    """t1 with payments p001-p005, t2 with p006; every one's webhook_url is http://h/."""
    with store.unit_of_work() as uow:
        uow.insert_tenant(tenant(1), "hash-1")
        uow.insert_tenant(tenant(2), "hash-2")
        for n in range(1, 6):
            uow.insert_payment(payment(n))
        uow.insert_payment(payment(6, tenant_id="t2"))
    return store


def publish(store: Store, *events: Event) -> None:
    with store.unit_of_work() as uow:
        for e in events:
            uow.insert_event(e)


def claim(store: Store, now: datetime, owner: str = "a", limit: int = 10) -> list[Claim]:
    """Leased until LEASE (+60 s), or for a minute from ``now`` once that has passed."""
    with store.unit_of_work() as uow:
        return uow.claim_deliveries(now, limit, LEASE if now < LEASE else now + 60 * S, owner)


def finish(store: Store, event_id: str, status: DeliveryStatus, now: datetime,
           owner: str = "a", **kw: object) -> bool:  # fmt: skip
    with store.unit_of_work() as uow:
        return uow.finish_delivery(event_id, owner, status, now, **kw)  # type: ignore[arg-type]


def one(store: Store, event_id: str) -> Delivery:
    with store.reader() as r:
        (found,) = r.deliveries(None, event_id=event_id)
    return found


def test_a_claim_leases_due_deliveries_in_per_payment_order(queue: Store) -> None:
    publish(queue, event(1, 1), event(2, 1, seconds=1), event(3, 2, seconds=2))
    assert claim(queue, START - S) == []  # nothing due yet
    claims = claim(queue, START + 10 * S)
    assert [c.event_id for c in claims] == ["e1", "e3"]  # e2 waits for e1, its payment's
    first = claims[0]
    assert first == Claim(
        seq=first.seq, event_id="e1", tenant_id="t1", payment_id="p001",
        event_type="payment.created", payload={"n": 1}, url="http://h/", attempt=1,
        attempt_in_round=1, scheduled_at=START, webhook_secret="whsec_x",
        previous_webhook_secret=None, secret_rotated_at=None, endpoint_disabled=False,
    )  # fmt: skip
    assert claims[0].seq < claims[1].seq
    assert claim(queue, START + 10 * S, owner="b") == []  # leased, or behind a leased one
    assert one(queue, "e1").status is DELIVERING and one(queue, "e1").attempts == 1
    assert one(queue, "e2").status is PENDING and one(queue, "e2").attempts == 0
    assert finish(queue, "e1", DELIVERED, START + 11 * S)
    [second] = claim(queue, START + 12 * S, owner="b")
    assert (second.event_id, second.attempt, second.scheduled_at) == ("e2", 1, START + S)


def test_a_claim_takes_at_most_limit_oldest_first(queue: Store) -> None:
    publish(queue, event(1, 3, seconds=5), event(2, 2, seconds=1), event(3, 1, seconds=3))
    assert [c.event_id for c in claim(queue, START + 9 * S, limit=2)] == ["e2", "e3"]
    assert [c.event_id for c in claim(queue, START + 9 * S, limit=2)] == ["e1"]


def test_an_expired_lease_is_claimed_again_and_the_old_owner_loses_it(queue: Store) -> None:
    publish(queue, event(1, 1))
    [first] = claim(queue, START, owner="a")
    assert claim(queue, LEASE - S, owner="b") == []  # the lease still holds
    [again] = claim(queue, LEASE, owner="b")  # it expired: a new attempt, same event
    assert (again.event_id, again.attempt, again.attempt_in_round) == ("e1", 2, 2)
    assert again.seq == first.seq
    assert not finish(queue, "e1", DELIVERED, LEASE + S, owner="a")  # stolen
    assert one(queue, "e1").status is DELIVERING
    assert finish(queue, "e1", DELIVERED, LEASE + S, owner="b")
    assert not finish(queue, "e1", DELIVERED, LEASE + S, owner="b")  # settled already
    got = one(queue, "e1")
    assert (got.status, got.attempts, got.delivered_at) == (DELIVERED, 2, LEASE + S)


def test_finish_delivery_settles_each_way(queue: Store) -> None:
    publish(queue, event(1, 1), event(2, 2), event(3, 3))
    claim(queue, START)
    retry_at = START + 300 * S
    assert finish(queue, "e1", DELIVERED, START + 2 * S, last_error=None)
    assert finish(queue, "e2", PENDING, START + 3 * S, next_attempt_at=retry_at,
                  last_error="503 Service Unavailable")  # fmt: skip
    assert finish(queue, "e3", DEAD, START + 4 * S, last_error="timeout", dead_reason="retries")
    with queue.reader() as r:
        got = {d.event_id: d for d in r.deliveries("t1")}
    base = Delivery("e1", "t1", "p001", "payment.created", DELIVERED, 1, START, START,
                    payload={"n": 1})  # fmt: skip
    assert got["e1"] == dataclasses.replace(base, delivered_at=START + 2 * S)
    assert got["e2"] == dataclasses.replace(
        base, event_id="e2", payment_id="p002", status=PENDING, next_attempt_at=retry_at,
        last_error="503 Service Unavailable", payload={"n": 2},
    )  # fmt: skip
    assert got["e3"] == dataclasses.replace(
        base, event_id="e3", payment_id="p003", status=DEAD, last_error="timeout",
        dead_at=START + 4 * S, dead_reason="retries", payload={"n": 3},
    )  # fmt: skip
    assert claim(queue, retry_at - S) == []
    assert [(c.event_id, c.attempt) for c in claim(queue, retry_at)] == [("e2", 2)]


def test_finish_delivery_unanswered_settles_it_and_spares_a_lost_lease(queue: Store) -> None:
    """``answered=False`` tells nothing (None), and does what an answered one does."""
    publish(queue, event(1, 1), event(2, 2))
    claim(queue, START, owner="a")
    [stolen] = [c for c in claim(queue, LEASE, owner="b") if c.event_id == "e2"]
    with queue.unit_of_work() as uow:
        assert uow.finish_delivery("e1", "b", DELIVERED, LEASE + S, answered=False) is None
        assert uow.finish_delivery("e2", "a", DEAD, LEASE + S, answered=False) is None
    assert (one(queue, "e1").status, one(queue, "e1").delivered_at) == (DELIVERED, LEASE + S)
    assert one(queue, "e2").status is DELIVERING  # b holds it: a's word changes nothing
    assert stolen.attempt == 2


def test_claims_carry_the_tenants_secrets(queue: Store) -> None:
    rotated_at = START - 5 * S
    with queue.unit_of_work() as uow:
        uow.update_tenant(dataclasses.replace(
            tenant(1), webhook_secret="whsec_new", previous_webhook_secret="whsec_x",
            secret_rotated_at=rotated_at,
        ))  # fmt: skip
    publish(queue, event(1, 1))
    [c] = claim(queue, START)
    assert (c.webhook_secret, c.previous_webhook_secret, c.secret_rotated_at) == (
        "whsec_new", "whsec_x", rotated_at,
    )  # fmt: skip


def test_record_attempt_and_filter_attempts(queue: Store) -> None:
    rows = [
        attempt("e2", 1, START + 2 * S, False),
        attempt("e1", 1, START + 1 * S, False),
        attempt("e1", 2, START + 2 * S, True),
        attempt("e6", 1, START + 3 * S, True, tenant_id="t2"),
    ]
    with queue.unit_of_work() as uow:
        for a in rows:
            uow.record_attempt(a)
    with queue.reader() as r:
        assert r.attempts(None, None, 10) == [rows[1], rows[2], rows[0], rows[3]]  # sent, event
        assert r.attempts("t1", None, 10) == [rows[1], rows[2], rows[0]]
        assert r.attempts(None, "e1", 10) == [rows[1], rows[2]]
        assert r.attempts("t2", "e1", 10) == []
        assert r.attempts(None, None, 2) == [rows[1], rows[2]]


def test_deliveries_and_dead_deliveries_filters(queue: Store) -> None:
    publish(queue, event(1, 1), event(2, 1, seconds=1), event(3, 2), event(6, 6, tenant_id="t2"))
    claim(queue, START)  # e1, e3, e6
    finish(queue, "e3", DEAD, START + 5 * S, dead_reason="retries")
    finish(queue, "e6", DEAD, START + 5 * S, dead_reason="endpoint_gone")
    finish(queue, "e1", DEAD, START + 2 * S, dead_reason="retries")
    with queue.reader() as r:
        ids = lambda found: [d.event_id for d in found]  # noqa: E731
        assert ids(r.deliveries(None)) == ["e1", "e2", "e3", "e6"]  # outbox order
        assert ids(r.deliveries("t1")) == ["e1", "e2", "e3"]
        assert ids(r.deliveries("t1", payment_id="p001")) == ["e1", "e2"]
        assert ids(r.deliveries(None, status="pending")) == ["e2"]
        assert ids(r.deliveries("t2", event_id="e1")) == []
        assert ids(r.deliveries(None, limit=2)) == ["e1", "e2"]
        assert ids(r.dead_deliveries(None, 10)) == ["e6", "e3", "e1"]  # newest, then seq
        assert ids(r.dead_deliveries("t1", 10)) == ["e3", "e1"]
        assert ids(r.dead_deliveries(None, 1)) == ["e6"]
        assert r.dead_deliveries("t2", 10)[0].dead_reason == "endpoint_gone"


def test_next_delivery_due_counts_an_expiring_lease(queue: Store) -> None:
    with queue.reader() as r:
        assert r.next_delivery_due() is None
    publish(queue, event(1, 1, seconds=4), event(2, 1, seconds=1))
    with queue.reader() as r:
        assert r.next_delivery_due() == START + 4 * S  # e2 is due sooner, but waits for e1
    claim(queue, START + 5 * S)  # leases e1 (its payment's first); e2 waits behind it
    with queue.reader() as r:
        assert r.next_delivery_due() == LEASE
    finish(queue, "e1", DELIVERED, START + 6 * S)
    with queue.reader() as r:
        assert r.next_delivery_due() == START + S
    claim(queue, START + 7 * S)
    finish(queue, "e2", DELIVERED, START + 8 * S)
    with queue.reader() as r:
        assert r.next_delivery_due() is None


def test_disable_endpoint_marks_claims_until_a_replay(queue: Store) -> None:
    publish(queue, event(1, 1), event(2, 2), event(6, 6, tenant_id="t2"))
    with queue.unit_of_work() as uow:
        uow.disable_endpoint("t1", "http://h/", "410 Gone", START)
        uow.disable_endpoint("t1", "http://h/", "410 Gone", START + S)  # again: no error
    claims = {c.event_id: c for c in claim(queue, START)}
    assert {e: c.endpoint_disabled for e, c in claims.items()} == {
        "e1": True, "e2": True, "e6": False,  # t2's endpoint of the same URL is its own
    }  # fmt: skip
    finish(queue, "e1", DEAD, START + S, dead_reason="endpoint_gone")
    finish(queue, "e2", DELIVERED, START + S)
    with queue.unit_of_work() as uow:
        assert uow.replay_dead(START + 2 * S, event_id="e1") == 1
    [again] = claim(queue, START + 2 * S)
    assert (again.event_id, again.endpoint_disabled) == ("e1", False)


def _dead(queue: Store) -> None:
    """e1 (t1) dead at +1 s after one attempt, e2 (t1) at +3 s, e6 (t2) at +5 s."""
    publish(queue, event(1, 1), event(2, 2), event(6, 6, tenant_id="t2"))
    claim(queue, START)
    for event_id, seconds in (("e1", 1), ("e2", 3), ("e6", 5)):
        assert finish(queue, event_id, DEAD, START + seconds * S, last_error="timeout",
                      dead_reason="retries")  # fmt: skip


def test_replay_dead_requeues_them_due_now(queue: Store) -> None:
    _dead(queue)
    now = START + 10 * S
    with queue.unit_of_work() as uow:
        assert uow.replay_dead(now) == 3
        assert uow.replay_dead(now) == 0  # none dead any more
    got = one(queue, "e1")
    assert got == Delivery("e1", "t1", "p001", "payment.created", PENDING, 1, now, START,
                           payload={"n": 1})  # fmt: skip
    with queue.reader() as r:
        assert r.dead_deliveries(None, 10) == []
        assert r.next_delivery_due() == now
    claims = claim(queue, now)
    assert [(c.event_id, c.attempt, c.attempt_in_round) for c in claims] == [
        ("e1", 2, 1), ("e2", 2, 1), ("e6", 2, 1),
    ]  # fmt: skip
    assert all(c.scheduled_at == now for c in claims)


@pytest.mark.parametrize(
    ("kw", "replayed"),
    [
        ({"tenant_id": "t1"}, ["e1", "e2"]),
        ({"tenant_id": "t2"}, ["e6"]),
        ({"event_id": "e2"}, ["e2"]),
        ({"tenant_id": "t2", "event_id": "e2"}, []),
        ({"since": START + 3 * S}, ["e2", "e6"]),  # dead at or after
        ({"since": START + 3 * S, "tenant_id": "t1"}, ["e2"]),
    ],
)
def test_replay_dead_filters(queue: Store, kw: dict[str, object], replayed: list[str]) -> None:
    _dead(queue)
    with queue.unit_of_work() as uow:
        assert uow.replay_dead(START + 10 * S, **kw) == len(replayed)  # type: ignore[arg-type]
    with queue.reader() as r:
        assert [d.event_id for d in r.deliveries(None, status="pending")] == replayed


def test_replay_dead_since_compares_instants_not_zones(queue: Store) -> None:
    _dead(queue)
    # An instant no other test writes: SQLite's time encoder caches by instant, not zone.
    since = (START + timedelta(seconds=2, microseconds=271828)).astimezone(ZONE)
    with queue.unit_of_work() as uow:
        assert uow.replay_dead(START + 10 * S, since=since) == 2  # e2 and e6


def test_delivery_metrics(queue: Store) -> None:
    publish(queue, *(event(n, n) for n in range(1, 6)), event(6, 6, tenant_id="t2"))
    claim(queue, START)
    with queue.unit_of_work() as uow:
        for n, seconds in ((1, 2), (2, 4), (3, 6), (4, 10)):
            uow.record_attempt(attempt(f"e{n}", 1, START + seconds * S, True))
            assert uow.finish_delivery(f"e{n}", "a", DELIVERED, START + seconds * S)
        uow.record_attempt(attempt("e5", 1, START + S, False))
        assert uow.finish_delivery("e5", "a", DEAD, START + S, dead_reason="retries")
        uow.record_attempt(attempt("e6", 1, START + S, False, tenant_id="t2"))  # e6 leased
    with queue.reader() as r:
        one_tenant, every = r.delivery_metrics("t1"), r.delivery_metrics(None)
    assert one_tenant == {
        "total_attempts": 5, "successful": 4, "failed": 1, "events": 5,
        "by_status": {"pending": 0, "delivering": 0, "delivered": 4, "dead": 1},
        "delivery_rate_pct": 80.0, "average_attempts": 1.0, "dlq_depth": 1,
        "latency_p50_s": 4.0, "latency_p95_s": 6.0,
    }  # fmt: skip
    assert every == {
        **one_tenant, "total_attempts": 6, "failed": 2, "events": 6,
        "by_status": {"pending": 0, "delivering": 1, "delivered": 4, "dead": 1},
    }  # fmt: skip
    with queue.reader() as r:
        assert r.delivery_metrics("t9") == {
            "total_attempts": 0, "successful": 0, "failed": 0, "events": 0,
            "by_status": {"pending": 0, "delivering": 0, "delivered": 0, "dead": 0},
            "delivery_rate_pct": 0.0, "average_attempts": 0.0, "dlq_depth": 0,
            "latency_p50_s": None, "latency_p95_s": None,
        }  # fmt: skip


def test_an_expired_lease_is_due_when_it_expires(queue: Store) -> None:
    """A claim under its limit takes what became due first; a lease becomes due when it
    expires (as ``next_delivery_due`` counts it), not at its delivery's first schedule."""
    publish(queue, event(1, 1), event(2, 2))
    claim(queue, START)  # both leased until LEASE (+60 s)
    assert finish(queue, "e2", PENDING, START + S, next_attempt_at=START + 30 * S)
    with queue.reader() as r:
        assert r.next_delivery_due() == START + 30 * S
    [first] = claim(queue, LEASE + 10 * S, owner="b", limit=1)
    assert (first.event_id, first.scheduled_at) == ("e2", START + 30 * S)
