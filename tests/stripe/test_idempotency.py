"""Stripe's idempotency rules over the engine's idempotency store, through the SDK."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import stripe

from server.testing import RunningServer

V1 = stripe.StripeClient
PARAMS = {"amount": 900, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}


def _create(client: V1, key: str, **params: object) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        params={**PARAMS, **params}, options={"idempotency_key": key}
    )


def _replayed(obj: stripe.StripeObject) -> str | None:
    assert obj.last_response is not None
    return obj.last_response.headers.get("Idempotent-Replayed")


def test_the_same_key_and_parameters_replay_the_first_answer(client: V1) -> None:
    first = _create(client, "order-1")
    again = _create(client, "order-1")
    assert (_replayed(first), _replayed(again)) == (None, "true")
    assert again.to_dict() == first.to_dict()
    assert [p.id for p in client.v1.payment_intents.list().data] == [first.id]


def test_other_parameters_with_the_same_key_are_an_idempotency_error(client: V1) -> None:
    _create(client, "order-2")
    for changed in ({"amount": 901}, {"confirm": False}, {"metadata": {"a": "b"}}):
        with pytest.raises(stripe.IdempotencyError) as exc:
            _create(client, "order-2", **changed)
        assert (exc.value.http_status, exc.value.error.type) == (400, "idempotency_error")
    pi = client.v1.payment_intents.list().data[0]
    with pytest.raises(stripe.IdempotencyError):  # the same key on another endpoint
        client.v1.payment_intents.cancel(pi.id, options={"idempotency_key": "order-2"})


def test_expand_is_not_a_parameter_of_the_request(client: V1) -> None:
    first = _create(client, "order-3")
    again = _create(client, "order-3", expand=["latest_charge"])
    assert (_replayed(again), again.latest_charge.id) == ("true", first.latest_charge)


def test_a_decline_replays_as_the_same_card_error(client: V1) -> None:
    declined = {"payment_method": "pm_card_chargeDeclinedInsufficientFunds"}
    with pytest.raises(stripe.CardError) as first:
        _create(client, "order-4", **declined)
    with pytest.raises(stripe.CardError) as again:
        _create(client, "order-4", **declined)
    assert first.value.headers.get("Idempotent-Replayed") is None
    assert again.value.headers.get("Idempotent-Replayed") == "true"
    assert again.value.json_body == first.value.json_body


def test_every_post_verb_replays(client: V1) -> None:
    manual = _create(client, "order-5", capture_method="manual")
    options = {"idempotency_key": "cap-5"}
    first = client.v1.payment_intents.capture(manual.id, {"amount_to_capture": 400}, options)
    again = client.v1.payment_intents.capture(manual.id, {"amount_to_capture": 400}, options)
    assert (_replayed(first), _replayed(again)) == (None, "true")
    refund = {"payment_intent": manual.id, "amount": 100}
    r1 = client.v1.refunds.create(refund, {"idempotency_key": "ref-5"})
    r2 = client.v1.refunds.create(refund, {"idempotency_key": "ref-5"})
    assert (r2.id, _replayed(r2)) == (r1.id, "true")
    assert len(client.v1.refunds.list({"payment_intent": manual.id}).data) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.refunds.create({**refund, "amount": 101}, {"idempotency_key": "ref-5"})


def test_keys_of_v1_and_of_api_are_apart(server: RunningServer, client: V1, api_key: str) -> None:
    _create(client, "shared-key")
    body = {"amount": 9, "currency": "USD", "webhook_url": "http://127.0.0.1:9/x"}
    answer = httpx.post(
        server.url + "/api/payments", json=body,
        headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": "shared-key"},
    )  # fmt: skip
    assert answer.status_code == 201 and "idempotent-replayed" not in answer.headers


def test_concurrent_requests_with_one_key_execute_once(server: RunningServer, api_key: str) -> None:
    """Stripe answers 409 to a key still running; ours queues it on the key's lock and
    replays the first answer once it commits (409 only past the engine's wait)."""
    body = "amount=700&currency=usd&payment_method=pm_card_visa&confirm=true"
    headers = {
        "Authorization": f"Bearer {api_key}", "Idempotency-Key": "same-time",
        "Content-Type": "application/x-www-form-urlencoded",
    }  # fmt: skip

    def post(_: int) -> httpx.Response:
        return httpx.post(server.url + "/v1/payment_intents", content=body, headers=headers)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["id"] for a in answers}) == 1
    fresh = [a for a in answers if "idempotent-replayed" not in a.headers]
    assert len(fresh) == 1
