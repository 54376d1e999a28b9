"""Each error class the SDK raises, Stripe's headers, and other tenants' ids as 404s on
every /v1 route."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest
import stripe

from mockpay_core import errors
from mockpay_core.config import LedgerConfig
from server.ratelimit import RateLimited
from server.stripe import errors as stripe_errors
from server.stripe import ids
from server.testing import RunningServer

from .conftest import new_key, sdk

V1 = stripe.StripeClient


def test_a_wrong_key_is_an_authentication_error(server: RunningServer) -> None:
    with pytest.raises(stripe.AuthenticationError) as exc:
        sdk(server, "sk_test_not_a_key").v1.payment_intents.list()
    assert exc.value.http_status == 401


def test_a_missing_parameter_names_it(client: V1) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(params={"currency": "usd"})
    assert (exc.value.http_status, exc.value.param) == (400, "amount")
    with pytest.raises(stripe.InvalidRequestError) as bad:
        client.v1.payment_intents.create(params={"amount": "ten", "currency": "usd"})
    assert bad.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as currency:
        client.v1.payment_intents.create(params={"amount": 10, "currency": "xyz"})
    assert currency.value.param == "currency"


def test_unknown_ids_and_routes_are_resource_missing(client: V1) -> None:
    for call in (
        lambda: client.v1.payment_intents.retrieve("pi_nope"),
        lambda: client.v1.payment_intents.retrieve("pi_" + "0" * 32),
        lambda: client.v1.refunds.retrieve("re_x"),
        lambda: client.v1.customers.retrieve("cus_x"),  # phase 2: no such route yet
    ):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            call()
        assert exc.value.http_status == 404
        assert exc.value.error.type == "invalid_request_error"


def test_rate_limits_are_rate_limit_errors(server: RunningServer) -> None:
    client = sdk(server, new_key(server, "original"))  # 100 requests per 15 minutes
    with pytest.raises(stripe.RateLimitError):
        for _ in range(101):
            client.v1.payment_intents.list(params={"limit": 1})


def test_headers_stripe_version_echoed_and_a_request_id(
    server: RunningServer, api_key: str
) -> None:
    auth = {"Authorization": f"Bearer {api_key}"}
    sent = httpx.get(
        server.url + "/v1/payment_intents", headers={**auth, "Stripe-Version": "2020-08-27"}
    )
    assert sent.headers["stripe-version"] == "2020-08-27"
    default = httpx.get(server.url + "/v1/payment_intents", headers=auth)
    assert default.headers["stripe-version"] == stripe_errors.API_VERSION
    assert default.headers["request-id"].startswith("req_")
    refused = httpx.get(server.url + "/v1/payment_intents")
    assert refused.status_code == 401 and refused.headers["stripe-version"]
    assert set(refused.json()["error"]) >= {"type", "code", "message", "param"}


def test_every_error_class_has_a_stripe_kind() -> None:
    tree = [c for c in errors.ERROR_CODES.values() if c is not errors.MockPayError]
    for cls in tree:
        kind = stripe_errors.kind_of(cls.__new__(cls))
        if cls is errors.AuditImmutable:
            assert kind.status == 500
        else:
            assert kind.status in (400, 401, 404, 409, 503), cls
    in_use = stripe_errors.error_response(errors.IdempotencyKeyInUse("still running"))
    assert in_use.status_code == 409
    assert json.loads(bytes(in_use.body))["error"]["type"] == "idempotency_error"
    assert stripe_errors.kind_of(RateLimited.__new__(RateLimited)).status == 429


# Every /v1 route that takes an id, in the path or as a parameter, with another tenant's.
ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/v1/payment_intents/{pi}"), ("POST", "/v1/payment_intents/{pi}"),
    ("POST", "/v1/payment_intents/{pi}/confirm"), ("POST", "/v1/payment_intents/{pi}/capture"),
    ("POST", "/v1/payment_intents/{pi}/cancel"),
    ("POST", "/v1/payment_intents?amount=100&currency=usd&customer={cus}"),
    ("GET", "/v1/payment_intents?starting_after={pi}"),
    ("GET", "/v1/payment_intents?ending_before={pi}"),
    ("GET", "/v1/charges/{ch}"), ("GET", "/v1/charges?payment_intent={pi}"),
    ("GET", "/v1/charges?starting_after={ch}"), ("GET", "/v1/charges?ending_before={ch}"),
    ("POST", "/v1/refunds?payment_intent={pi}"), ("POST", "/v1/refunds?charge={ch}"),
    ("GET", "/v1/refunds/{re}"), ("GET", "/v1/refunds?payment_intent={pi}"),
    ("GET", "/v1/refunds?charge={ch}"),
    ("GET", "/v1/disputes/{du}"), ("POST", "/v1/disputes/{du}/close"),
    ("GET", "/v1/disputes?payment_intent={pi}"),
    ("GET", "/v1/events/{evt}"), ("GET", "/v1/events/{evt2}"),
    ("GET", "/v1/customers/{cus}"), ("POST", "/v1/customers/{cus}"),
    ("DELETE", "/v1/customers/{cus}"),
    ("GET", "/v1/webhook_endpoints/{we}"), ("POST", "/v1/webhook_endpoints/{we}"),
    ("DELETE", "/v1/webhook_endpoints/{we}"),
    ("GET", "/v1/payouts/{po}"), ("GET", "/v1/balance_transactions/{txn}"),
)  # fmt: skip


def test_the_routes_checked_are_every_v1_route_with_an_id(server: RunningServer) -> None:
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    templates = {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/v1/") and "{" in path
        for method in operations
    }
    checked = {(m, _template(p)) for m, p in ROUTES if "?" not in p}
    assert {(m, _template(p)) for m, p in templates} == checked


def _template(path: str) -> str:
    """A route's path with its one parameter's name left out."""
    head, _, rest = path.partition("{")
    return head + "{}" + rest.partition("}")[2]


def test_another_tenant_s_ids_are_404_on_every_route(server: RunningServer, client: V1) -> None:
    engine = server.app.state.engine
    kept = engine.ctx
    at_once = kept.config.model_copy(update={"ledger": LedgerConfig(settlement_delay_s=0)})
    engine.ctx = dataclasses.replace(kept, config=at_once)
    try:  # this capture settles at once, so that there is a payout to ask for
        paid = client.v1.payment_intents.create(
            params={"amount": 800, "currency": "usd", "payment_method": "pm_card_visa",
                    "confirm": True}
        )  # fmt: skip
    finally:
        engine.ctx = kept
    engine.settle_captures()
    payout = client.v1.payouts.create(params={"amount": 100, "currency": "usd"})
    pi = client.v1.payment_intents.create(
        params={"amount": 800, "currency": "usd", "payment_method": "pm_card_createDispute",
                "confirm": True}
    )  # fmt: skip
    charge_txn = client.v1.balance_transactions.list(params={"type": "charge"}).data[0]
    refund = client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 100})
    dispute = client.v1.disputes.list().data[0]
    refunded, second = client.v1.events.list().data[:2]  # refund.created, charge.refunded
    customer = client.v1.customers.create(params={"name": "Ann"})
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]}
    )
    mine = {"pi": pi.id, "ch": pi.latest_charge, "re": refund.id, "du": dispute.id,
            "evt": second.id, "evt2": refunded.id, "cus": customer.id,
            "we": endpoint.id, "po": payout.id, "txn": charge_txn.id}  # fmt: skip
    other = {"Authorization": f"Bearer {new_key(server)}"}
    for method, path in ROUTES:
        answer = httpx.request(method, server.url + path.format(**mine), headers=other)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["error"]["code"] == "resource_missing"
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"  # untouched
    assert client.v1.customers.retrieve(customer.id).name == "Ann"
    assert client.v1.webhook_endpoints.retrieve(endpoint.id).status == "enabled"
    assert ids.decode_event(refunded.id) == (  # the newest: its refund, as refund.created
        ids.payment_of(paid.id),
        ids.decode_event(second.id)[1],
        1,
    )


def test_a_known_path_with_another_method_is_405(server: RunningServer, api_key: str) -> None:
    answer = httpx.delete(
        server.url + "/v1/payment_intents", headers={"Authorization": f"Bearer {api_key}"}
    )
    assert (answer.status_code, answer.headers["allow"]) == (405, "GET, POST")
    assert answer.json()["error"]["type"] == "invalid_request_error"


def test_a_bug_is_stripe_s_api_error_and_logged(
    server: RunningServer, client: V1, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> dict[str, object]:
        raise RuntimeError("a bug")

    monkeypatch.setattr("server.stripe.intents.views.payment_intent", broken)
    with pytest.raises(stripe.APIError) as exc:
        client.v1.payment_intents.create(params={"amount": 100, "currency": "usd"})
    assert exc.value.http_status == 500
    assert exc.value.headers["stripe-version"] == stripe.api_version  # the SDK's, echoed
    assert "a bug" not in str(exc.value.json_body)


@pytest.mark.parametrize(
    "query",
    ["limit=%C2%B9", "limit=", "created=", "created=%D9%A3",
     "created[gt]=x", "limit=1234567890123456789012"],
)  # fmt: skip
def test_a_bad_integer_in_a_list_query_is_a_400(
    server: RunningServer, api_key: str, query: str
) -> None:
    for path in ("/v1/charges", "/v1/refunds", "/v1/events", "/v1/payment_intents"):
        answer = httpx.get(
            f"{server.url}{path}?{query}", headers={"Authorization": f"Bearer {api_key}"}
        )
        assert answer.status_code == 400, (path, query, answer.text)
        assert answer.json()["error"]["type"] == "invalid_request_error"
