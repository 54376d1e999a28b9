"""Refunds, Charges as views, and Events through the official SDK."""

from __future__ import annotations

import pytest
import stripe

V1 = stripe.StripeClient


def _paid(client: V1, amount: int = 1000) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        params={"amount": amount, "currency": "usd", "payment_method": "pm_card_visa",
                "confirm": True}
    )  # fmt: skip


def test_partial_then_full_refunds_by_intent_and_by_charge(client: V1) -> None:
    pi = _paid(client)
    part = client.v1.refunds.create(
        params={"payment_intent": pi.id, "amount": 300, "reason": "requested_by_customer"}
    )
    assert (part.object, part.amount, part.status, part.reason) == (
        "refund", 300, "succeeded", "requested_by_customer",
    )  # fmt: skip
    assert (part.payment_intent, part.charge) == (pi.id, pi.latest_charge)
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (300, False)
    rest = client.v1.refunds.create(params={"charge": pi.latest_charge})  # the rest, by default
    assert rest.amount == 700
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (1000, True)
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
    assert client.v1.refunds.retrieve(part.id).to_dict() == part.to_dict()
    listed = client.v1.refunds.list(params={"payment_intent": pi.id})
    assert [r.id for r in listed.data] == [rest.id, part.id]
    expanded = client.v1.refunds.retrieve(part.id, params={"expand": ["charge"]})
    assert expanded.charge.amount_refunded == 1000


def test_over_refunds_are_refused(client: V1) -> None:
    pi = _paid(client, 500)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 501})
    assert (exc.value.http_status, exc.value.code) == (400, "amount_too_large")
    client.v1.refunds.create(params={"payment_intent": pi.id})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 1})
    uncaptured = client.v1.payment_intents.create(params={"amount": 500, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": uncaptured.id})
    with pytest.raises(stripe.InvalidRequestError) as neither:
        client.v1.refunds.create()
    assert neither.value.param == "payment_intent"


def test_the_tenant_s_refunds_newest_first_with_paging(client: V1) -> None:
    made = []
    for _ in range(3):
        pi = _paid(client)
        made += [client.v1.refunds.create(params={"payment_intent": pi.id, "amount": n}).id
                 for n in (100, 200)]  # fmt: skip
    listed = client.v1.refunds.list(params={"limit": 4})
    assert listed.has_more is True
    assert [r.id for r in listed.auto_paging_iter()] == made[::-1]


def test_a_charge_only_once_the_card_was_tried(client: V1) -> None:
    unconfirmed = client.v1.payment_intents.create(params={"amount": 500, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.charges.retrieve("ch_" + unconfirmed.id[3:])
    assert exc.value.http_status == 404
    paid = _paid(client)
    assert [c.id for c in client.v1.charges.list().data] == [paid.latest_charge]


def test_events_retrieve_list_and_filter_by_type(client: V1) -> None:
    pi = _paid(client)
    client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 100})
    manual = client.v1.payment_intents.create(
        params={"amount": 500, "currency": "usd", "payment_method": "pm_card_visa",
                "capture_method": "manual", "confirm": True}
    )  # fmt: skip
    client.v1.payment_intents.cancel(manual.id)
    kinds = [e.type for e in client.v1.events.list().data]
    assert kinds == [
        "payment_intent.canceled", "payment_intent.amount_capturable_updated",
        "refund.created", "charge.refunded", "charge.succeeded", "payment_intent.succeeded",
    ]  # fmt: skip
    (created,) = client.v1.events.list(params={"type": "refund.created"}).data
    assert (created.data.object.object, created.data.object.amount) == ("refund", 100)
    assert client.v1.events.retrieve(created.id).to_dict() == created.to_dict()
    charged = client.v1.events.list(params={"types": ["charge.succeeded", "charge.refunded"]})
    assert [e.type for e in charged.data] == ["charge.refunded", "charge.succeeded"]
    (refunded,) = client.v1.events.list(params={"type": "charge.refunded"}).data
    assert (refunded.object, refunded.data.object.object) == ("event", "charge")
    assert refunded.data.object.amount_refunded == 100
    assert client.v1.events.retrieve(refunded.id).to_dict() == refunded.to_dict()
    intents = client.v1.events.list(params={"type": "payment_intent.*"}).data
    assert len(intents) == 3 and all(e.data.object.object == "payment_intent" for e in intents)
    assert client.v1.events.list(params={"limit": 1}).has_more is True
    with pytest.raises(stripe.InvalidRequestError) as both:
        client.v1.events.list(params={"type": "charge.refunded", "types": ["charge.refunded"]})
    assert both.value.param == "types"


def test_charges_page_past_intents_never_confirmed(client: V1) -> None:
    paid = [_paid(client).latest_charge for _ in range(3)]
    for _ in range(3):
        client.v1.payment_intents.create(params={"amount": 500, "currency": "usd"})
    first = client.v1.charges.list(params={"limit": 2})
    assert ([c.id for c in first.data], first.has_more) == (paid[::-1][:2], True)
    assert [c.id for c in first.auto_paging_iter()] == paid[::-1]


def test_lists_filter_by_created_and_expand_their_objects(client: V1) -> None:
    paid = [_paid(client) for _ in range(3)]
    for pi in paid:
        client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 100})
    refunds = client.v1.refunds.list(params={"expand": ["data.payment_intent"]})
    assert [r.payment_intent.id for r in refunds.data] == [p.id for p in reversed(paid)]
    created = refunds.data[0].created
    assert client.v1.refunds.list(params={"created": {"gt": created}}).data == []
    assert len(client.v1.refunds.list(params={"created": {"lte": created}}).data) == 3
    assert client.v1.events.list(params={"created": {"gt": created}}).data == []
    charges = client.v1.charges.list(params={"limit": 1, "ending_before": paid[0].latest_charge})
    assert ([c.id for c in charges.data], charges.has_more) == ([paid[1].latest_charge], True)
    expanded = client.v1.charges.list(params={"expand": ["data.payment_intent"]})
    assert [c.payment_intent.id for c in expanded.data] == [p.id for p in reversed(paid)]
    assert [c.id for c in client.v1.charges.list().auto_paging_iter()] == [
        p.latest_charge for p in reversed(paid)
    ]
