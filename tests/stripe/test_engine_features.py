"""What /v1 gets from the engine that Stripe's mocks lack: fraud rules on ``customer``,
authorization expiry on the simulated clock; and the routes in /openapi.json."""

from __future__ import annotations

import httpx
import pytest
import stripe

from server.testing import RunningServer, running_server

from .conftest import sdk


def test_a_customer_fraud_rule_holds_an_intent_in_processing(
    server: RunningServer, client: stripe.StripeClient, api_key: str
) -> None:
    engine = server.app.state.engine
    tenant = engine.authenticate(api_key)
    rule = {"name": "one a minute", "rule_type": "velocity", "threshold": 1, "window_secs": 60,
            "scope": "customer", "action": "flag"}  # fmt: skip
    engine.create_fraud_rule(rule, tenant.id)
    params = {"amount": 500, "currency": "usd", "payment_method": "pm_card_visa",
              "confirm": True, "customer": "cus_42"}  # fmt: skip
    first = client.v1.payment_intents.create(params=params)
    held = client.v1.payment_intents.create(params=params)
    other = client.v1.payment_intents.create(params={**params, "customer": "cus_7"})
    assert (first.status, held.status, other.status) == ("succeeded", "processing", "succeeded")
    assert (held.customer, held.latest_charge) == ("cus_42", None)
    kinds = {e.type for e in client.v1.events.list(params={"type": "review.opened"}).data}
    assert kinds == {"review.opened"}


def test_authorizations_expire_after_7_days_on_the_simulated_clock() -> None:
    with running_server(clock="simulated", default_fraud_rules=False) as server:
        client = sdk(server, server.api_key)
        pi = client.v1.payment_intents.create(
            params={"amount": 500, "currency": "usd", "payment_method": "pm_card_visa",
                    "capture_method": "manual", "confirm": True}
        )  # fmt: skip
        advance = server.url + "/api/admin/clock/advance"
        httpx.post(advance, json={"seconds": 7 * 86400 - 60}, headers=server.admin)
        assert client.v1.payment_intents.retrieve(pi.id).status == "requires_capture"
        httpx.post(advance, json={"seconds": 60}, headers=server.admin).raise_for_status()
        assert client.v1.payment_intents.retrieve(pi.id).status == "canceled"
        kinds = [e.type for e in client.v1.events.list().data]
        assert kinds[0] == "payment_intent.canceled"


def test_the_v1_routes_and_their_form_bodies_are_in_openapi(server: RunningServer) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()
    create = spec["paths"]["/v1/payment_intents"]["post"]
    form = create["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["amount", "currency"]
    assert form["properties"]["amount"] == {"type": "integer", "minimum": 1}
    assert create["responses"]["402"]["description"].startswith("card_error")
    assert {"/v1/refunds", "/v1/disputes/{dispute}/close", "/v1/events"} <= set(spec["paths"])
    assert not any("webhook_sink" in p or "{path}" in p for p in spec["paths"])


def test_lists_filter_by_created_on_the_simulated_clock() -> None:
    with running_server(clock="simulated", default_fraud_rules=False) as server:
        client = sdk(server, server.api_key)
        made = []
        for _ in range(4):  # one a minute
            pi = client.v1.payment_intents.create(
                params={"amount": 500, "currency": "usd", "payment_method": "pm_card_visa",
                        "confirm": True}
            )  # fmt: skip
            made.append(pi)
            httpx.post(server.url + "/api/admin/clock/advance", json={"seconds": 60},
                       headers=server.admin).raise_for_status()  # fmt: skip
        t = [p.created for p in made]
        listed = client.v1.payment_intents.list

        def ids_of(created: object, **more: object) -> list[str]:
            return [p.id for p in listed(params={"created": created, **more}).auto_paging_iter()]

        assert ids_of({"gte": t[1]}) == [p.id for p in made[1:]][::-1]
        assert ids_of({"gt": t[1], "lt": t[3]}) == [made[2].id]
        assert ids_of({"lte": t[1]}, limit=1) == [made[1].id, made[0].id]
        assert ids_of(t[2]) == [made[2].id]
        page = listed(params={"created": {"gte": t[1]}, "limit": 2})
        assert ([p.id for p in page.data], page.has_more) == ([made[3].id, made[2].id], True)
        charges = client.v1.charges.list(params={"created": {"lt": t[1]}})
        assert [c.id for c in charges.data] == [made[0].latest_charge]
        with pytest.raises(stripe.InvalidRequestError) as exc:
            listed(params={"created": {"after": t[0]}})
        assert exc.value.param == "created"


def test_idempotency_keys_live_24_hours_on_the_simulated_clock() -> None:
    with running_server(clock="simulated", default_fraud_rules=False) as server:
        client = sdk(server, server.api_key)
        params = {"amount": 500, "currency": "usd"}
        key = {"idempotency_key": "daily"}
        first = client.v1.payment_intents.create(params=params, options=key)
        advance = server.url + "/api/admin/clock/advance"
        httpx.post(advance, json={"seconds": 86400 - 1}, headers=server.admin)
        with pytest.raises(stripe.IdempotencyError):
            client.v1.payment_intents.create(params={**params, "amount": 600}, options=key)
        httpx.post(advance, json={"seconds": 1}, headers=server.admin).raise_for_status()
        again = client.v1.payment_intents.create(params={**params, "amount": 600}, options=key)
        assert (again.id != first.id, again.amount) == (True, 600)
