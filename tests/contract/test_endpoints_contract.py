"""The storage contract for WebhookEndpoints and their copies of events, run against every
adapter in ``tests.conftest.STORES``: rows, which endpoints want a type, and what a claim of
an endpoint's copy carries (its URL, its secret, disabled once the endpoint is)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from mockpay_core.domain.model import WebhookEndpoint
from mockpay_core.domain.retry import DeliveryStatus
from mockpay_core.storage.protocol import Store
from tests.conftest import START
from tests.contract.test_deliveries_contract import claim, event, queue

__all__ = ["queue"]  # the fixture, imported for these tests


def endpoint(n: int, types: list[str], seconds: int = 0, **kw: object) -> WebhookEndpoint:
    fields: dict[str, object] = {
        "id": f"w{n}", "tenant_id": "t1", "url": f"http://ep{n}/hooks", "enabled_events": types,
        "secret": f"whsec_{n}", "status": "enabled", "description": None,
        "metadata": {"n": str(n)}, "api_version": "2025-01-27",
        "created_at": START + timedelta(seconds=seconds), **kw,
    }  # fmt: skip
    return WebhookEndpoint(**fields)  # type: ignore[arg-type]


@pytest.fixture
def endpoints(queue: Store) -> Store:
    with queue.unit_of_work() as uow:
        uow.insert_endpoint(endpoint(1, ["*"]))
        uow.insert_endpoint(endpoint(2, ["charge.refunded", "payment_intent.succeeded"], 1))
        uow.insert_endpoint(endpoint(3, ["charge.refunded"], 2, status="disabled"))
    return queue


def test_endpoints_are_read_back_newest_first(endpoints: Store) -> None:
    with endpoints.reader() as r:
        w2 = endpoint(2, ["charge.refunded", "payment_intent.succeeded"], 1)
        assert r.get_endpoint("t1", "w2") == w2
        assert r.get_endpoint("t2", "w2") is None
        assert [w.id for w in r.list_endpoints("t1", 10)] == ["w3", "w2", "w1"]
        assert [w.id for w in r.list_endpoints("t1", 2)] == ["w3", "w2"]
        assert r.list_endpoints("t2", 10) == []


def test_endpoints_for_a_type_are_the_enabled_ones_that_want_it(endpoints: Store) -> None:
    with endpoints.unit_of_work() as uow:
        assert [w.id for w in uow.endpoints_for("t1", "charge.refunded")] == ["w1", "w2"]
        assert [w.id for w in uow.endpoints_for("t1", "charge.dispute.created")] == ["w1"]
        assert uow.endpoints_for("t2", "charge.refunded") == []


def test_update_endpoint_and_a_deleted_one(endpoints: Store) -> None:
    with endpoints.unit_of_work() as uow:
        w2 = uow.get_endpoint("t1", "w2")
        assert w2 is not None
        changed = dataclasses.replace(
            w2, url="http://other/", enabled_events=["refund.created"], status="disabled",
            description="ops", metadata={},
        )  # fmt: skip
        uow.update_endpoint(changed)
        w1 = uow.get_endpoint("t1", "w1")
        assert w1 is not None
        uow.update_endpoint(dataclasses.replace(w1, deleted_at=START + timedelta(seconds=9)))
    with endpoints.reader() as r:
        assert r.get_endpoint("t1", "w2") == changed
        gone = r.get_endpoint("t1", "w1")
        assert gone is not None and gone.deleted_at == START + timedelta(seconds=9)
        assert [w.id for w in r.list_endpoints("t1", 10)] == ["w3", "w2"]
    with endpoints.unit_of_work() as uow:
        assert uow.endpoints_for("t1", "charge.refunded") == []


def test_a_copy_is_claimed_for_its_endpoint_and_left_out_of_events(endpoints: Store) -> None:
    original = event(1, 1)
    copy = dataclasses.replace(original, id="e1-w2", type="charge.refunded", endpoint_id="w2")
    off = dataclasses.replace(original, id="e1-w3", type="charge.refunded", endpoint_id="w3")
    with endpoints.unit_of_work() as uow:
        for e in (original, copy, off):
            uow.insert_event(e)
    with endpoints.reader() as r:
        assert [e.id for e in r.events("t1", None, 10)] == ["e1"]
        assert [e.id for e in r.events("t1", "p001", 10)] == ["e1"]
        assert [e.id for e in r.latest_events("t1", 10)] == ["e1"]
        assert {d.event_id for d in r.deliveries("t1")} == {"e1", "e1-w2", "e1-w3"}
    (first,) = claim(endpoints, START)  # per-payment order: the copies wait for the original
    assert (first.url, first.endpoint_secret, first.endpoint_disabled) == ("http://h/", None, False)
    with endpoints.unit_of_work() as uow:
        assert uow.finish_delivery("e1", "a", DeliveryStatus.DELIVERED, START)
    (c,) = claim(endpoints, START + timedelta(seconds=1))
    assert (c.event_id, c.url, c.endpoint_secret, c.endpoint_disabled) == (
        "e1-w2", "http://ep2/hooks", "whsec_2", False,
    )  # fmt: skip
    assert c.payload == original.payload and c.event_type == "charge.refunded"
    with endpoints.unit_of_work() as uow:
        assert uow.finish_delivery("e1-w2", "a", DeliveryStatus.DELIVERED, START)
    (off_claim,) = claim(endpoints, START + timedelta(seconds=2))
    assert (off_claim.event_id, off_claim.endpoint_disabled) == ("e1-w3", True)  # goes dead


def test_an_event_about_no_payment_is_delivered_only_as_its_copies(endpoints: Store) -> None:
    """A payout's event: written undelivered (no payment's webhook_url to go to), its copy
    claimed for the endpoint although no payment has the event's subject id."""
    about = dataclasses.replace(event(1, 1), payment_id="payout-1", type="payout.paid")
    copy = dataclasses.replace(about, id="e1-w2", endpoint_id="w2")
    with endpoints.unit_of_work() as uow:
        uow.insert_event(about, deliver=False)
        uow.insert_event(copy)
    with endpoints.reader() as r:
        assert [e.id for e in r.events("t1", "payout-1", 10)] == ["e1"]
        assert {d.event_id for d in r.deliveries("t1")} == {"e1-w2"}
    (c,) = claim(endpoints, START)
    assert (c.event_id, c.payment_id, c.url, c.endpoint_secret) == (
        "e1-w2", "payout-1", "http://ep2/hooks", "whsec_2",
    )  # fmt: skip
