"""Stripe's test cards, each with the outcome Stripe gives, through the official SDK."""

from __future__ import annotations

import pytest
import stripe

from server.stripe import cards, ids
from server.testing import RunningServer

V1 = stripe.StripeClient
DECLINES = [c for c in cards.CARDS if c.kind is cards.Kind.DECLINE]


@pytest.mark.parametrize("name", ["pm_card_visa", "tok_visa", "pm_card_amex", "tok_mastercard"])
def test_succeeding_cards(client: V1, name: str) -> None:
    pi = client.v1.payment_intents.create(
        params={"amount": 500, "currency": "eur", "payment_method": name, "confirm": True}
    )
    assert pi.status == "succeeded"


@pytest.mark.parametrize("card", DECLINES, ids=lambda c: c.name)
def test_declines_raise_card_error_with_stripe_s_codes(client: V1, card: cards.Card) -> None:
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.create(
            params={"amount": 500, "currency": "usd", "payment_method": card.name, "confirm": True}
        )
    err = exc.value
    assert (err.http_status, err.code, err.error.decline_code) == (
        402,
        card.code,
        card.decline_code,
    )
    assert err.error.type == "card_error"
    pi = err.error.payment_intent
    assert (pi.status, pi.last_payment_error.decline_code) == (
        "requires_payment_method",
        card.decline_code,
    )
    stored = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["latest_charge"]})
    assert stored.last_payment_error.code == card.code
    assert (stored.latest_charge.status, stored.latest_charge.paid) == ("failed", False)
    assert stored.latest_charge.outcome.type == "issuer_declined"


def test_a_decline_at_confirm_names_the_card_then_given(client: V1) -> None:
    pi = client.v1.payment_intents.create(params={"amount": 500, "currency": "usd"})
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.confirm(
            pi.id, params={"payment_method": "pm_card_chargeDeclinedExpiredCard"}
        )
    assert exc.value.code == "expired_card"


def test_an_unknown_payment_method_is_resource_missing(client: V1) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(
            params={"amount": 500, "currency": "usd", "payment_method": "pm_card_bogus"}
        )
    assert (exc.value.http_status, exc.value.code, exc.value.param) == (
        404,
        "resource_missing",
        "payment_method",
    )


def test_radar_block_goes_through_our_fraud_rules(
    server: RunningServer, client: V1, api_key: str
) -> None:
    params = {"amount": 500, "currency": "usd", "payment_method": "pm_card_radarBlock"}
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.create(params={**params, "confirm": True})
    assert (exc.value.code, exc.value.error.decline_code) == ("card_declined", "fraudulent")
    pi = exc.value.error.payment_intent
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.outcome.type, charge.outcome.risk_level) == ("blocked", "highest")
    engine = server.app.state.engine
    tenant = engine.authenticate(api_key)
    payment = engine.get_payment(tenant.id, ids.payment_of(pi.id))
    assert payment.failure_code == "fraud_blocked"
    (decision,) = engine.fraud_decisions(tenant.id, payment.id)
    assert decision["outcome"] == "block"
    # Created without confirm, the block is there already; confirm says so with a 402.
    later = client.v1.payment_intents.create(params=params)
    assert later.status == "requires_payment_method"
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.confirm(later.id)


def test_create_dispute_succeeds_then_opens_a_dispute(client: V1) -> None:
    pi = client.v1.payment_intents.create(
        params={"amount": 700, "currency": "usd", "payment_method": "pm_card_createDispute",
                "confirm": True}
    )  # fmt: skip
    assert pi.status == "succeeded"
    (dispute,) = client.v1.disputes.list().data
    assert (dispute.status, dispute.amount, dispute.reason) == ("needs_response", 700, "fraudulent")
    assert (dispute.payment_intent, dispute.charge) == (pi.id, pi.latest_charge)
    assert client.v1.charges.retrieve(pi.latest_charge).disputed is True
    assert client.v1.disputes.retrieve(dispute.id).to_dict() == dispute.to_dict()
    closed = client.v1.disputes.close(dispute.id)
    assert closed.status == "lost"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.close(dispute.id)


def test_create_dispute_with_manual_capture_disputes_once_captured(client: V1) -> None:
    pi = client.v1.payment_intents.create(
        params={"amount": 700, "currency": "usd", "payment_method": "pm_card_createDispute",
                "confirm": True, "capture_method": "manual"}
    )  # fmt: skip
    assert client.v1.disputes.list().data == []
    client.v1.payment_intents.capture(pi.id)
    assert [d.payment_intent for d in client.v1.disputes.list().data] == [pi.id]


def test_a_radar_block_hides_the_customer_it_set_and_replays(client: V1) -> None:
    params = {"amount": 500, "currency": "usd", "payment_method": "pm_card_radarBlock",
              "confirm": True, "customer": "cus_mine"}  # fmt: skip
    with pytest.raises(stripe.CardError) as first:
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "rb"})
    with pytest.raises(stripe.CardError) as again:
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "rb"})
    assert first.value.error.payment_intent.customer is None
    assert again.value.headers.get("Idempotent-Replayed") == "true"
