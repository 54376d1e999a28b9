"""Prefixed ids are a reversible mapping of ours, and nothing else decodes."""

from __future__ import annotations

import pytest

from mockpay_core import SeededIds
from mockpay_core.errors import NotFound
from server.stripe import ids

_ids = SeededIds(3)
P, R = _ids.uuid(), _ids.uuid()


def test_each_kind_round_trips() -> None:
    assert ids.decode("payment_intent", ids.encode("payment_intent", P)) == (P,)
    assert ids.decode("charge", ids.encode("charge", P)) == (P,)
    for kind in ("refund", "dispute", "event"):
        stripe_id = ids.encode(kind, P, R)
        assert stripe_id.startswith(ids.PREFIXES[kind] + "_")
        assert ids.decode(kind, stripe_id) == (P, R)
    assert ids.payment_of(ids.encode("charge", P)) == P


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "pi_",
        "pi_123",
        ids.encode("charge", P),  # another kind's prefix
        ids.encode("payment_intent", P) + "00",
        ids.encode("payment_intent", P).upper(),
        "pi_" + "g" * 32,
    ],
)
def test_anything_else_is_resource_missing(bad: str) -> None:
    with pytest.raises(NotFound):
        ids.decode("payment_intent", bad)


def test_an_event_id_names_which_of_its_stripe_types_it_is() -> None:
    assert ids.encode_event(P, R) == ids.encode("event", P, R)
    for n in range(ids.EVENT_TYPES_MAX):
        assert ids.decode_event(ids.encode_event(P, R, n)) == (P, R, n)
    base = ids.encode("event", P, R)
    for bad in (base + "_0", base + "_01", base + f"_{ids.EVENT_TYPES_MAX}", base + "_", "evt_1"):
        with pytest.raises(NotFound):
            ids.decode_event(bad)


def test_the_event_types_a_list_asks_the_database_for() -> None:
    """A list's ``type``/``types[]`` become the engine's types, filtered in the database:
    the newest 1,000 events of those types, not of all types, are what a list reads."""
    from server.stripe.events import engine_types

    assert engine_types(None) is None
    assert engine_types(["charge.succeeded"]) == ["payment.captured", "payment.success"]
    assert engine_types(["charge.refunded", "refund.created"]) == ["payment.refunded"]
    assert engine_types(["charge.dispute.*"]) == ["dispute.created", "dispute.lost", "dispute.won"]
    assert engine_types(["mockpay.payment.created"]) == ["payment.created"]
    assert engine_types(["mockpay.*"]) is None  # any engine type may be one
    assert engine_types(["no.such.type"]) == []
