"""/v1/balance, /v1/balance_transactions and /v1/payouts through the official SDK, and the
payout.paid / payout.failed webhooks verified by ``stripe.Webhook.construct_event``.

Each test's server settles captures at once (``settlement_delay_s=0``) on a simulated
clock set to the real time (signatures are checked against it); the admin clock route runs
what is due.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import stripe

from mockpay_core.config import LedgerConfig
from mockpay_core.errors import NotFound
from server.stripe import balance_views
from server.testing import RunningServer, running_server
from tests.delivery.receiver import Receiver
from tests.stripe.conftest import new_key, sdk
from tests.stripe.test_webhooks import receiver, tick, verified, wait_for

__all__ = ["receiver"]  # the fixture, imported for these tests

V1 = stripe.StripeClient


@pytest.fixture
def server() -> Iterator[RunningServer]:
    """One per test: each test's first tick is its window's sweep."""
    with running_server(default_fraud_rules=False, clock="simulated",
                        settlement_delay_s=0) as running:  # fmt: skip
        running.app.state.engine.clock.set(datetime.now(UTC))
        yield running


def _paid(client: V1, amount: int) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        params={"amount": amount, "currency": "usd", "confirm": True,
                "payment_method": "pm_card_visa"}
    )  # fmt: skip


def _failing(server: RunningServer, p: float) -> None:
    engine = server.app.state.engine
    ledger = LedgerConfig(settlement_delay_s=0, payout_failure_p=p)
    engine.ctx = dataclasses.replace(engine.ctx, config=engine.ctx.config.model_copy(
        update={"ledger": ledger}))  # fmt: skip


def test_a_capture_is_pending_then_swept_out_and_payouts_are_announced(
    server: RunningServer, client: V1, receiver: Receiver
) -> None:
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["payout.paid", "payout.failed"]}
    )
    pi = _paid(client, 10_000)
    balance = client.v1.balance.retrieve()
    assert (balance.object, balance.livemode) == ("balance", False)
    assert [(b.amount, b.currency) for b in balance.pending] == [(9_680, "usd")]
    assert [b.amount for b in balance.available] == [0]
    (charge,) = client.v1.balance_transactions.list().data
    assert (charge.type, charge.amount, charge.fee, charge.net, charge.status) == (
        "charge", 10_000, 320, 9_680, "pending",
    )  # fmt: skip
    assert charge.source == pi.latest_charge and charge.fee_details[0].type == "stripe_fee"

    tick(server)  # settles, then this window's sweep pays all of it out
    (swept,) = client.v1.payouts.list().data
    assert (swept.amount, swept.automatic, swept.status, swept.currency) == (
        9_680, True, "paid", "usd",
    )  # fmt: skip
    assert client.v1.balance_transactions.retrieve(charge.id).status == "available"
    _paid(client, 5_000)
    tick(server)  # settled; no second sweep in one window
    assert [b.amount for b in client.v1.balance.retrieve().available] == [4_825]
    asked = client.v1.payouts.create(params={"amount": 1_000, "currency": "usd"})
    assert (asked.automatic, asked.status, asked.failure_code) == (False, "paid", None)
    _failing(server, 1.0)
    try:
        failed = client.v1.payouts.create(params={"amount": 500, "currency": "usd"})
    finally:
        _failing(server, 0.0)
    assert (failed.status, failed.failure_code) == ("failed", "could_not_process")
    back = client.v1.balance_transactions.retrieve(failed.failure_balance_transaction)
    assert (back.type, back.amount, back.source) == ("payout_failure", 500, failed.id)
    assert [b.amount for b in client.v1.balance.retrieve().available] == [3_825]

    tick(server)
    sent = verified(wait_for(receiver, 3), endpoint.secret)
    by_payout = {e.data.object.id: e.type for e in sent}
    assert by_payout == {swept.id: "payout.paid", asked.id: "payout.paid",
                         failed.id: "payout.failed"}  # fmt: skip
    for event in sent:
        assert client.v1.events.retrieve(event.id).data.object.id == event.data.object.id
    listed = client.v1.events.list(params={"type": "payout.*"}).data
    assert sorted(e.id for e in listed) == sorted(e.id for e in sent)

    txns = list(client.v1.balance_transactions.list(params={"limit": 3}).auto_paging_iter())
    assert [t.type for t in txns] == [  # newest first, as the ledger wrote them
        "payout_failure", "payout", "payout", "charge", "payout", "charge",
    ]  # fmt: skip
    # What the balance transactions add up to is the balance (pending 0, all settled).
    assert sum(t.net for t in txns) == 3_825
    listed_payouts = client.v1.payouts.list().data  # one instant: newest first by id then
    assert {p.id for p in listed_payouts} == {failed.id, asked.id, swept.id}
    assert client.v1.payouts.retrieve(asked.id).amount == 1_000
    only = client.v1.balance_transactions.list(params={"type": "charge", "currency": "usd"})
    assert [t.type for t in only.data] == ["charge", "charge"]


def test_payout_refusals_and_other_tenants(server: RunningServer, client: V1) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payouts.create(params={"amount": 100, "currency": "usd"})
    assert (exc.value.http_status, exc.value.code) == (400, "balance_insufficient")
    for bad, param in (
        ({"amount": 100}, "currency"),
        ({"currency": "usd"}, "amount"),
        ({"amount": 0, "currency": "usd"}, "amount"),
        ({"amount": 1, "currency": "usd", "description": "x"}, "description"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.payouts.create(params=bad)  # type: ignore[arg-type]
        assert exc.value.param == param, bad
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.balance_transactions.list(params={"type": "transfer"})
    assert exc.value.param == "type"
    tick(server)  # this window's sweep, of nothing
    _paid(client, 2_000)
    tick(server)
    mine = client.v1.payouts.create(params={"amount": 100, "currency": "usd"})
    (txn, *_) = client.v1.balance_transactions.list().data
    other = sdk(server, new_key(server))
    for read in (lambda: other.v1.payouts.retrieve(mine.id),
                 lambda: other.v1.balance_transactions.retrieve(txn.id),
                 lambda: client.v1.balance_transactions.retrieve("txn_nope"),
                 lambda: client.v1.payouts.retrieve("po_" + "0" * 32)):  # fmt: skip
        with pytest.raises(stripe.InvalidRequestError) as exc:
            read()
        assert exc.value.http_status == 404


def test_balance_transaction_ids_round_trip() -> None:
    source = "01934f5e-8a3b-7c2d-9e1f-0a1b2c3d4e5f"
    stripe_id = balance_views.transaction_id("dispute_opened", source)
    assert stripe_id == "txn_01934f5e8a3b7c2d9e1f0a1b2c3d4e5f_dispute_opened"
    assert balance_views.transaction_of(stripe_id) == f"dispute_opened:{source}"
    for bad in ("txn_", "txn_x_capture", stripe_id.replace("opened", "x"), "ch_1"):
        with pytest.raises(NotFound):
            balance_views.transaction_of(bad)
