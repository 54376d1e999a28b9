"""Customers through the official SDK: every verb, the email filter, expand, the fraud
rules that count a Customer's payments, and other tenants' ids."""

from __future__ import annotations

import pytest
import stripe

from server.testing import RunningServer
from tests.stripe.conftest import new_key, sdk

V1 = stripe.StripeClient


def test_customer_verbs(client: V1) -> None:
    made = client.v1.customers.create(
        params={"email": "ann@x.test", "name": "Ann", "metadata": {"tier": "gold"}}
    )
    assert made.id.startswith("cus_") and (made.object, made.email) == ("customer", "ann@x.test")
    assert client.v1.customers.retrieve(made.id).to_dict() == made.to_dict()
    changed = client.v1.customers.update(
        made.id, params={"name": "", "description": "vip", "metadata": {"tier": "", "x": "1"}}
    )
    assert (changed.name, changed.description, changed.metadata.to_dict()) == (
        None, "vip", {"x": "1"},
    )  # fmt: skip
    other = client.v1.customers.create(params={"email": "bob@x.test"})
    assert [c.id for c in client.v1.customers.list().auto_paging_iter()] == [other.id, made.id]
    by_email = client.v1.customers.list(params={"email": "ann@x.test"})
    assert [c.id for c in by_email.data] == [made.id]
    assert client.v1.customers.delete(made.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError) as gone:
        client.v1.customers.retrieve(made.id)
    assert (gone.value.http_status, gone.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as bad:
        client.v1.customers.create(params={"email": "not-an-email"})
    assert bad.value.param == "email"


def test_an_intent_for_a_customer_and_expand(client: V1) -> None:
    ann = client.v1.customers.create(params={"name": "Ann"})
    pi = client.v1.payment_intents.create(
        params={"amount": 500, "currency": "usd", "customer": ann.id, "expand": ["customer"]}
    )
    assert isinstance(pi.customer, stripe.Customer) and pi.customer.name == "Ann"
    plain = client.v1.payment_intents.retrieve(pi.id)
    assert plain.customer == ann.id
    again = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["customer"]})
    assert again.customer.id == ann.id
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.create(
            params={"amount": 500, "currency": "usd", "customer": "cus_" + "0" * 32}
        )
    assert missing.value.http_status == 404


def test_a_customer_fraud_rule_counts_a_customers_payments(
    server: RunningServer, client: V1, api_key: str
) -> None:
    engine = server.app.state.engine
    tenant = engine.authenticate(api_key)
    engine.create_fraud_rule(
        {"name": "per customer", "rule_type": "velocity", "threshold": 1, "window_secs": 3600,
         "scope": "customer", "action": "flag"}, tenant.id,
    )  # fmt: skip
    ann, bob = (client.v1.customers.create(params={"name": n}) for n in ("Ann", "Bob"))
    params = {"amount": 500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    first = client.v1.payment_intents.create(params={**params, "customer": ann.id})
    held = client.v1.payment_intents.create(params={**params, "customer": ann.id})
    other = client.v1.payment_intents.create(params={**params, "customer": bob.id})
    assert (first.status, held.status, other.status) == ("succeeded", "processing", "succeeded")


def test_another_tenants_customer_is_404(server: RunningServer, client: V1) -> None:
    made = client.v1.customers.create(params={"name": "Ann"})
    other = sdk(server, new_key(server))
    for call in (
        lambda: other.v1.customers.retrieve(made.id),
        lambda: other.v1.customers.update(made.id, params={"name": "x"}),
        lambda: other.v1.customers.delete(made.id),
        lambda: other.v1.payment_intents.create(
            params={"amount": 500, "currency": "usd", "customer": made.id}
        ),
    ):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            call()
        assert exc.value.http_status == 404


def test_expand_customer_on_every_intent_verb_and_lists_filter_by_customer(client: V1) -> None:
    ann, bob = (client.v1.customers.create(params={"name": n}) for n in ("Ann", "Bob"))
    wanted = {"expand": ["customer"]}
    pi = client.v1.payment_intents.create(
        params={"amount": 500, "currency": "usd", "customer": ann.id, "capture_method": "manual"}
    )
    done = client.v1.payment_intents.confirm(
        pi.id, params={"payment_method": "pm_card_visa", **wanted}
    )
    assert done.customer.name == "Ann"
    changed = client.v1.payment_intents.update(pi.id, params={"description": "mug", **wanted})
    assert changed.customer.name == "Ann"
    captured = client.v1.payment_intents.capture(pi.id, params=wanted)
    assert captured.customer.name == "Ann" and captured.status == "succeeded"
    charge = client.v1.charges.retrieve(captured.latest_charge, params=wanted)
    assert charge.customer.name == "Ann"
    other = client.v1.payment_intents.create(
        params={"amount": 600, "currency": "usd", "customer": bob.id,
                "payment_method": "pm_card_visa", "confirm": True}
    )  # fmt: skip
    canceled = client.v1.payment_intents.cancel(
        client.v1.payment_intents.create(
            params={"amount": 700, "currency": "usd", "customer": bob.id}
        ).id,
        params=wanted,
    )
    assert canceled.customer.name == "Bob"
    of_bob = client.v1.payment_intents.list(
        params={"customer": bob.id, "expand": ["data.customer"]}
    )
    assert [p.id for p in of_bob.data] == [canceled.id, other.id]
    assert {p.customer.name for p in of_bob.data} == {"Bob"}
    charges = client.v1.charges.list(params={"customer": ann.id, "expand": ["data.customer"]})
    assert [(c.id, c.customer.name) for c in charges.data] == [(charge.id, "Ann")]
