"""WebhookEndpoints and Stripe-signed deliveries, judged by the official SDK: every event
type verified by ``stripe.Webhook.construct_event`` on a real receiver on 127.0.0.1, a
tampered body and a stale timestamp refused, a retry after a 500, one copy per endpoint.

The server runs on a simulated clock set to the real time (``construct_event`` compares a
signature's timestamp with the real one), so the admin clock route moves retries too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import stripe

from mockpay_core.domain.signing import SignatureError, verify_stripe
from server.stripe import ids, views, webhooks
from server.stripe.events import PAYOUT_EVENTS
from server.testing import RunningServer, running_server
from tests.delivery.receiver import Receiver, running_receiver
from tests.stripe.conftest import new_key, sdk

V1 = stripe.StripeClient
WAIT_S_MAX = 15.0
# Every Stripe type the fan-out sends about payments, from the tables it sends them by
# (payouts': tests/stripe/test_balance.py).
ALL_TYPES = sorted({
    t for ours in views.EVENT_TYPES if ours not in PAYOUT_EVENTS
    for t in webhooks.webhook_types(ours)
})  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server(default_fraud_rules=False, clock="simulated") as running:
        running.app.state.engine.clock.set(datetime.now(UTC))
        yield running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def tick(server: RunningServer, seconds: float = 0) -> None:
    """The admin clock route: move the simulated clock, deliver what falls due."""
    moved = httpx.post(
        f"{server.url}/api/admin/clock/advance", headers=server.admin, json={"seconds": seconds}
    )
    assert moved.status_code == 200, moved.text


def wait_for(receiver: Receiver, count: int) -> list[tuple[dict[str, str], bytes]]:
    deadline = time.monotonic() + WAIT_S_MAX
    while time.monotonic() < deadline:
        with receiver.lock:
            if len(receiver.requests) >= count:
                return list(receiver.requests)
        time.sleep(0.05)
    raise AssertionError(f"{len(receiver.requests)} deliveries, not {count}, in {WAIT_S_MAX} s")


def verified(requests: list[tuple[dict[str, str], bytes]], secret: str) -> list[stripe.Event]:
    return [
        stripe.Webhook.construct_event(body.decode(), headers["stripe-signature"], secret)
        for headers, body in requests
    ]


def _endpoint(client: V1, url: str, events: list[str]) -> stripe.WebhookEndpoint:
    return client.v1.webhook_endpoints.create(params={"url": url, "enabled_events": events})


def _pi(client: V1, **params: object) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        params={"amount": 1200, "currency": "usd", "confirm": True, **params}
    )


def test_endpoint_crud_and_the_secret_shown_once(client: V1) -> None:
    made = _endpoint(client, "http://127.0.0.1:9/hooks", ["charge.refunded"])
    assert made.id.startswith("we_") and made.secret.startswith("whsec_")
    assert (made.status, made.enabled_events, made.livemode) == (
        "enabled",
        ["charge.refunded"],
        False,
    )
    got = client.v1.webhook_endpoints.retrieve(made.id)
    assert "secret" not in got and got.url == made.url
    changed = client.v1.webhook_endpoints.update(
        made.id, params={"enabled_events": ["*"], "disabled": True, "description": "ops"}
    )
    assert (changed.enabled_events, changed.status, changed.description) == (
        ["*"],
        "disabled",
        "ops",
    )
    assert [w.id for w in client.v1.webhook_endpoints.list().data] == [made.id]
    gone = client.v1.webhook_endpoints.delete(made.id)
    assert gone.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.webhook_endpoints.retrieve(made.id)
    assert missing.value.http_status == 404
    assert client.v1.webhook_endpoints.list().data == []


def test_bad_endpoints_are_refused(client: V1) -> None:
    for params, field in (
        ({"url": "ftp://x/", "enabled_events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1:9/"}, "enabled_events"),
        ({"url": "http://127.0.0.1:9/", "enabled_events": [""]}, "enabled_events"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.webhook_endpoints.create(params=params)
        assert exc.value.param == field, params


def test_another_tenants_endpoint_is_404(server: RunningServer, client: V1) -> None:
    made = _endpoint(client, "http://127.0.0.1:9/hooks", ["*"])
    other = sdk(server, new_key(server))
    with pytest.raises(stripe.InvalidRequestError) as exc:
        other.v1.webhook_endpoints.retrieve(made.id)
    assert exc.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError):
        other.v1.webhook_endpoints.delete(made.id)


def test_every_event_type_verifies_with_construct_event(
    server: RunningServer, client: V1, api_key: str, receiver: Receiver
) -> None:
    endpoint = _endpoint(client, receiver.url, ["*"])
    paid = _pi(client, payment_method="pm_card_visa")
    client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 200})
    manual = _pi(client, payment_method="pm_card_visa", capture_method="manual")
    client.v1.payment_intents.capture(manual.id)
    with pytest.raises(stripe.CardError):
        _pi(client, payment_method="pm_card_chargeDeclined")
    client.v1.payment_intents.cancel(_pi(client, confirm=False).id)
    disputed = _pi(client, payment_method="pm_card_createDispute")
    (dispute,) = client.v1.disputes.list().data
    client.v1.disputes.close(dispute.id)
    engine = server.app.state.engine
    tenant = engine.authenticate(api_key)
    rule = engine.create_fraud_rule(
        {"name": "big", "rule_type": "amount_limit", "action": "flag", "threshold": 50},
        tenant.id,
    )
    held = _pi(client, amount=9000, payment_method="pm_card_visa")
    engine.set_fraud_rule_active(rule.id, False)
    assert held.status == "processing"  # flagged: held for review
    engine.review(tenant.id, ids.payment_of(held.id), "approve")
    # 2 paid + 2 refund + 1 authorized + 2 captured + 2 declined + 1 canceled + 3 disputed
    # + 1 closed + 1 review opened + 1 closed
    tick(server)
    events = verified(wait_for(receiver, 16), endpoint.secret)
    assert len(events) == 16
    assert sorted({e.type for e in events}) == ALL_TYPES
    by_type = {e.type: e for e in events}
    assert by_type["refund.created"].data.object.amount == 200
    assert by_type["charge.refunded"].data.object.amount_refunded == 200
    assert by_type["charge.dispute.closed"].data.object.status == "lost"
    assert by_type["payment_intent.payment_failed"].data.object.last_payment_error.code == (
        "card_declined"
    )
    assert by_type["charge.dispute.created"].data.object.payment_intent == disputed.id
    failed = by_type["charge.failed"].data.object
    assert (failed.object, failed.status, failed.failure_code) == (
        "charge",
        "failed",
        "card_declined",
    )
    assert len({e.id for e in events}) == len(events)  # one delivery per event and endpoint
    for sent in events:  # every event sent is the API's: same id, type and object
        found = client.v1.events.retrieve(sent.id)
        assert (found.type, found.data.object.id) == (sent.type, sent.data.object.id)
    listed = {e.id: e.type for e in client.v1.events.list().auto_paging_iter()}
    assert listed == {e.id: e.type for e in events}
    charges = client.v1.events.list(params={"types": ["charge.succeeded", "refund.created"]})
    assert sorted(e.type for e in charges.data) == ["charge.succeeded"] * 3 + ["refund.created"]


def test_a_tampered_body_is_refused(server: RunningServer, client: V1, receiver: Receiver) -> None:
    endpoint = _endpoint(client, receiver.url, ["payment_intent.succeeded"])
    _pi(client, payment_method="pm_card_visa")
    tick(server)
    ((headers, body),) = wait_for(receiver, 1)
    assert verified([(headers, body)], endpoint.secret)[0].type == "payment_intent.succeeded"
    tampered = body.replace(b'"amount":1200', b'"amount":1')
    assert tampered != body
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            tampered.decode(), headers["stripe-signature"], endpoint.secret
        )
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.decode(), headers["stripe-signature"], "whsec_other")
    now = datetime.now(UTC)  # our own check (mockpay listen --stripe) agrees with the SDK
    assert verify_stripe(body, headers["stripe-signature"], endpoint.secret, now) > 0
    with pytest.raises(SignatureError):
        verify_stripe(tampered, headers["stripe-signature"], endpoint.secret, now)


def test_a_stale_timestamp_is_refused_and_a_fresh_one_accepted() -> None:
    with (
        running_server(default_fraud_rules=False, clock="simulated") as stale,
        running_receiver() as r,
    ):
        clock = stale.app.state.engine.clock
        clock.set(datetime.now(UTC) - timedelta(seconds=301 + 5))
        client = sdk(stale, new_key(stale))
        endpoint = _endpoint(client, r.url, ["payment_intent.succeeded"])
        _pi(client, payment_method="pm_card_visa")
        tick(stale)
        ((headers, body),) = wait_for(r, 1)
        with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
            stripe.Webhook.construct_event(
                body.decode(), headers["stripe-signature"], endpoint.secret
            )
        tick(stale, 306)
        _pi(client, payment_method="pm_card_visa")
        tick(stale)
        fresh = wait_for(r, 2)[1]
        assert verified([fresh], endpoint.secret)[0].type == "payment_intent.succeeded"


def test_a_retry_after_a_500_is_the_same_event_and_verifies(
    server: RunningServer, client: V1, receiver: Receiver
) -> None:
    endpoint = _endpoint(client, receiver.url, ["payment_intent.succeeded"])
    receiver.status = 500
    _pi(client, payment_method="pm_card_visa")
    tick(server)
    ((_, first),) = wait_for(receiver, 1)
    receiver.status = 200
    tick(server, 3)  # the first retry is due 5 s (+-10 %) later
    assert len(receiver.requests) == 1
    tick(server, 3)
    (_, (headers, again)) = wait_for(receiver, 2)
    assert json.loads(again)["id"] == json.loads(first)["id"]
    assert verified([(headers, again)], endpoint.secret)[0].type == "payment_intent.succeeded"


def test_each_endpoint_gets_its_own_copy_of_what_it_asked_for(
    server: RunningServer, client: V1
) -> None:
    with running_receiver() as a, running_receiver() as b:
        ea = _endpoint(client, a.url, ["payment_intent.succeeded"])
        eb = _endpoint(client, b.url, ["charge.succeeded", "payment_intent.succeeded"])
        _pi(client, payment_method="pm_card_visa")
        tick(server)
        got_a = verified(wait_for(a, 1), ea.secret)
        got_b = verified(wait_for(b, 2), eb.secret)
    assert [e.type for e in got_a] == ["payment_intent.succeeded"]
    assert sorted(e.type for e in got_b) == ["charge.succeeded", "payment_intent.succeeded"]
    same = next(e for e in got_b if e.type == "payment_intent.succeeded")
    assert same.id == got_a[0].id  # one event, sent to each endpoint
