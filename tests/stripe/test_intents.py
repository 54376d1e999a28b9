"""PaymentIntents through the official SDK: every verb, both capture methods, statuses."""

from __future__ import annotations

import pytest
import stripe

from server.stripe import ids
from server.testing import RunningServer

V1 = stripe.StripeClient


def _pi(client: V1, **params: object) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd", **params})


def test_create_and_confirm_succeeds_with_a_charge(client: V1) -> None:
    pi = _pi(client, payment_method="pm_card_visa", confirm=True, metadata={"order": "42"})
    assert (pi.object, pi.status, pi.amount, pi.currency) == (
        "payment_intent",
        "succeeded",
        2000,
        "usd",
    )
    assert (pi.amount_received, pi.livemode, pi.metadata.to_dict()) == (
        2000,
        False,
        {"order": "42"},
    )
    assert pi.id.startswith("pi_") and pi.latest_charge == "ch_" + pi.id[3:]
    assert isinstance(pi.created, int) and pi.last_payment_error is None
    again = client.v1.payment_intents.retrieve(pi.id)
    assert again.to_dict() == pi.to_dict()


def test_expand_latest_charge(client: V1) -> None:
    pi = _pi(client, payment_method="pm_card_visa", confirm=True)
    found = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["latest_charge"]})
    ch = found.latest_charge
    assert isinstance(ch, stripe.Charge)
    assert (ch.amount_captured, ch.amount_refunded, ch.refunded, ch.paid) == (2000, 0, False, True)
    assert (ch.status, ch.payment_intent, ch.outcome.type) == ("succeeded", pi.id, "authorized")
    assert client.v1.charges.retrieve(ch.id).to_dict() == ch.to_dict()
    listed = client.v1.charges.list(params={"payment_intent": pi.id})
    assert [c.id for c in listed.data] == [ch.id]
    expanded = client.v1.charges.retrieve(ch.id, params={"expand": ["payment_intent"]})
    assert expanded.payment_intent.id == pi.id


def test_confirm_later_and_its_statuses(client: V1) -> None:
    bare = _pi(client)
    assert (bare.status, bare.latest_charge) == ("requires_payment_method", None)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.confirm(bare.id)
    assert missing.value.code == "payment_intent_unexpected_state"
    done = client.v1.payment_intents.confirm(bare.id, params={"payment_method": "tok_visa"})
    assert done.status == "succeeded"

    attached = _pi(client, payment_method="pm_card_mastercard")
    assert attached.status == "requires_confirmation"
    assert client.v1.payment_intents.confirm(attached.id).status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as twice:
        client.v1.payment_intents.confirm(attached.id)
    assert (twice.value.http_status, twice.value.code) == (400, "payment_intent_unexpected_state")


def test_card_number_through_payment_method_data(client: V1) -> None:
    data = {"type": "card", "card": {"number": "4242424242424242"}}
    pi = _pi(client, payment_method_data=data, confirm=True)
    assert (pi.status, pi.payment_method) == ("succeeded", "pm_card_visa")


def test_manual_capture_with_amount_to_capture(client: V1) -> None:
    pi = _pi(client, payment_method="pm_card_visa", capture_method="manual", confirm=True)
    assert (pi.status, pi.amount_capturable, pi.amount_received) == ("requires_capture", 2000, 0)
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.captured, charge.status) == (False, "succeeded")
    done = client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 1500})
    assert (done.status, done.amount_received, done.amount_capturable) == ("succeeded", 1500, 0)
    assert client.v1.charges.retrieve(pi.latest_charge).amount_captured == 1500
    over = _pi(client, payment_method="pm_card_visa", capture_method="manual", confirm=True)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.capture(over.id, params={"amount_to_capture": 2001})
    assert exc.value.code == "amount_too_large"


def test_cancel_with_a_reason(client: V1) -> None:
    pi = _pi(client, payment_method="pm_card_visa", capture_method="manual", confirm=True)
    canceled = client.v1.payment_intents.cancel(
        pi.id, params={"cancellation_reason": "requested_by_customer"}
    )
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "requested_by_customer")
    assert isinstance(canceled.canceled_at, int)
    again = client.v1.payment_intents.retrieve(pi.id)
    assert again.cancellation_reason == "requested_by_customer"
    with pytest.raises(stripe.InvalidRequestError) as bad:
        client.v1.payment_intents.cancel(_pi(client).id, params={"cancellation_reason": "bored"})
    assert bad.value.param == "cancellation_reason"
    paid = _pi(client, payment_method="pm_card_visa", confirm=True)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.cancel(paid.id)
    assert exc.value.code == "payment_intent_unexpected_state"


def test_update_merges_metadata_and_sets_the_description(
    server: RunningServer, client: V1, api_key: str
) -> None:
    pi = _pi(client, payment_method="pm_card_visa", confirm=True, metadata={"a": "1", "b": "2"})
    assert client.v1.payment_intents.update(pi.id).to_dict() == pi.to_dict()
    changed = client.v1.payment_intents.update(
        pi.id, params={"metadata": {"b": "", "c": "3"}, "description": "Blue mug"}
    )
    assert (changed.metadata.to_dict(), changed.description) == ({"a": "1", "c": "3"}, "Blue mug")
    assert changed.status == "succeeded"  # any state: no transition
    assert client.v1.payment_intents.retrieve(pi.id).to_dict() == changed.to_dict()
    cleared = client.v1.payment_intents.update(pi.id, params={"metadata": "", "description": ""})
    assert (cleared.metadata.to_dict(), cleared.description) == ({}, None)
    engine = server.app.state.engine
    tenant = engine.authenticate(api_key)
    actions = [a.action for a in engine.audit_history(tenant.id, ids.payment_of(pi.id))]
    assert actions == ["create", "succeed", "update", "update"]
    types = [e.type for e in client.v1.events.list().auto_paging_iter()]
    assert sorted(types) == ["charge.succeeded", "payment_intent.succeeded"]  # no update event


def test_an_update_replays_with_its_key_and_refuses_other_fields(client: V1) -> None:
    pi = _pi(client)
    first = client.v1.payment_intents.update(
        pi.id, params={"metadata": {"n": "1"}}, options={"idempotency_key": "upd-1"}
    )
    again = client.v1.payment_intents.update(
        pi.id, params={"metadata": {"n": "1"}}, options={"idempotency_key": "upd-1"}
    )
    assert again.last_response is not None
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert again.to_dict() == first.to_dict()
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.update(
            pi.id, params={"metadata": {"n": "2"}}, options={"idempotency_key": "upd-1"}
        )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.update(pi.id, params={"amount": 5})
    assert (exc.value.code, exc.value.param) == ("parameter_unknown", "amount")
    with pytest.raises(stripe.InvalidRequestError) as long:
        client.v1.payment_intents.update(pi.id, params={"description": "x" * 1001})
    assert long.value.param == "description"


def test_any_metadata_key_is_the_clients_own(client: V1) -> None:
    pi = _pi(client, metadata={"mockpay_stripe_pm": "pm_card_visa"})
    assert pi.metadata.to_dict() == {"mockpay_stripe_pm": "pm_card_visa"}
    assert (pi.payment_method, pi.status) == (None, "requires_payment_method")


def test_a_payment_method_given_at_confirm_is_kept(client: V1) -> None:
    pi = _pi(client)
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.confirm(
            pi.id, params={"payment_method": "pm_card_chargeDeclinedIncorrectCvc"}
        )
    assert exc.value.error.decline_code == "incorrect_cvc"  # type: ignore[union-attr]
    later = client.v1.payment_intents.retrieve(pi.id)
    assert (later.status, later.payment_method) == ("requires_payment_method", None)
    error = later.last_payment_error
    assert (error.type, error.code, error.decline_code) == (
        "card_error",
        "incorrect_cvc",
        "incorrect_cvc",
    )
    assert error.payment_method.id == "pm_card_chargeDeclinedIncorrectCvc"


def test_a_declined_intent_is_confirmed_again_with_another_card(
    server: RunningServer, client: V1, api_key: str
) -> None:
    pi = _pi(client, payment_method="pm_card_chargeDeclinedInsufficientFunds")
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.confirm(pi.id)
    assert exc.value.error.decline_code == "insufficient_funds"  # type: ignore[union-attr]
    with pytest.raises(stripe.InvalidRequestError) as bare:  # the declined card is detached
        client.v1.payment_intents.confirm(pi.id)
    assert bare.value.code == "payment_intent_unexpected_state"
    with pytest.raises(stripe.CardError) as again:
        client.v1.payment_intents.confirm(
            pi.id, params={"payment_method": "pm_card_chargeDeclined"}
        )
    assert again.value.error.decline_code == "generic_decline"  # type: ignore[union-attr]
    retry = {"params": {"payment_method": "pm_card_visa"}, "options": {"idempotency_key": "r-1"}}
    done = client.v1.payment_intents.confirm(pi.id, **retry)  # type: ignore[arg-type]
    assert (done.status, done.payment_method, done.last_payment_error) == (
        "succeeded",
        "pm_card_visa",
        None,
    )
    assert done.amount_received == 2000
    replay = client.v1.payment_intents.confirm(pi.id, **retry)  # type: ignore[arg-type]
    assert replay.last_response is not None
    assert replay.last_response.headers.get("Idempotent-Replayed") == "true"
    assert replay.to_dict() == done.to_dict()
    engine = server.app.state.engine
    tenant = engine.authenticate(api_key)
    history = engine.audit_history(tenant.id, ids.payment_of(pi.id))
    assert [a.action for a in history] == ["create", "fail", "retry", "fail", "retry", "succeed"]
    types = [e.type for e in client.v1.events.list().auto_paging_iter()]
    assert types.count("payment_intent.payment_failed") == 2
    assert types.count("payment_intent.succeeded") == 1


def test_an_intent_blocked_by_fraud_rules_is_not_retried(client: V1) -> None:
    pi = _pi(client, payment_method="pm_card_radarBlock")
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_radarBlock"})
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert exc.value.error.decline_code == "fraudulent"  # type: ignore[union-attr]
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_payment_method"


def test_list_pages_newest_first_in_both_directions(client: V1) -> None:
    made = [_pi(client, metadata={"n": str(i)}).id for i in range(7)]
    newest_first = made[::-1]
    first = client.v1.payment_intents.list(params={"limit": 3})
    assert ([p.id for p in first.data], first.has_more) == (newest_first[:3], True)
    assert [p.id for p in first.auto_paging_iter()] == newest_first
    after = client.v1.payment_intents.list(params={"limit": 3, "starting_after": newest_first[5]})
    assert ([p.id for p in after.data], after.has_more) == ([newest_first[6]], False)
    before = client.v1.payment_intents.list(params={"limit": 2, "ending_before": newest_first[4]})
    assert ([p.id for p in before.data], before.has_more) == (newest_first[2:4], True)
    expanded = client.v1.payment_intents.list(params={"limit": 1, "expand": ["data.latest_charge"]})
    assert expanded.data[0].latest_charge is None  # not confirmed: no charge yet


def test_ids_decode_to_the_engine_payment(server: RunningServer, client: V1, api_key: str) -> None:
    pi = _pi(client)
    tenant = server.app.state.engine.authenticate(api_key)
    payment = server.app.state.engine.get_payment(tenant.id, ids.payment_of(pi.id))
    assert (payment.amount_minor, payment.currency, payment.status.value) == (
        2000,
        "USD",
        "pending",
    )


def test_parameters_not_modelled_are_ignored_on_create_and_refused_on_update(client: V1) -> None:
    pi = _pi(client, automatic_payment_methods={"enabled": True}, receipt_email="a@b.test")
    assert pi.status == "requires_payment_method"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.update(pi.id, params={"receipt_email": "c@d.test"})
    assert exc.value.param == "receipt_email"


def test_an_update_sets_the_payment_method_before_confirm_and_after_a_decline(client: V1) -> None:
    pi = _pi(client)
    attached = client.v1.payment_intents.update(pi.id, params={"payment_method": "tok_visa"})
    assert (attached.status, attached.payment_method) == ("requires_confirmation", "pm_card_visa")
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.confirm(
            pi.id, params={"payment_method": "pm_card_chargeDeclinedExpiredCard"}
        )
    again = client.v1.payment_intents.update(pi.id, params={"payment_method": "pm_card_amex"})
    assert (again.status, again.payment_method) == ("requires_confirmation", "pm_card_amex")
    assert client.v1.payment_intents.confirm(pi.id).status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as late:
        client.v1.payment_intents.update(pi.id, params={"payment_method": "pm_card_visa"})
    assert late.value.code == "payment_intent_unexpected_state"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.payment_intents.update(_pi(client).id, params={"payment_method": "pm_nope"})
    assert (unknown.value.http_status, unknown.value.param) == (404, "payment_method")
