"""Fraud rules in the database: defaults, CRUD, decisions stored, windows on the clock."""

from __future__ import annotations

import pytest

from mockpay_core import Engine, SeededIds, SimulatedClock, Status, Tenant
from mockpay_core.errors import NotFound, ValidationError
from mockpay_core.storage.protocol import Store
from tests.engine.helpers import create


def test_the_originals_defaults_are_seeded_once(store: Store, clock: SimulatedClock) -> None:
    engine = Engine(store, clock=clock, ids=SeededIds(2))
    rules = engine.list_fraud_rules()
    assert sorted(
        (r.spec.name, r.spec.rule_type.value, str(r.spec.threshold), r.spec.window_secs)
        for r in rules
    ) == [
        ("High value txn", "amount_limit", "100000", None),
        ("Velocity check", "velocity", "5", 60),
    ]
    for rule in rules:
        engine.delete_fraud_rule(rule.id)
    assert Engine(store, clock=clock).list_fraud_rules() == []  # deleting sticks


def test_crud_and_toggle(engine: Engine) -> None:
    rule = engine.create_fraud_rule(
        {"name": "v", "rule_type": "velocity", "threshold": 3, "window_secs": 10}
    )
    assert engine.set_fraud_rule_active(rule.id).spec.is_active is False
    assert engine.set_fraud_rule_active(rule.id).spec.is_active is True
    assert engine.set_fraud_rule_active(rule.id, True).spec.is_active is True
    edited = engine.update_fraud_rule(rule.id, {"threshold": 7, "action": "block"})
    assert (str(edited.spec.threshold), edited.spec.action.value) == ("7", "block")
    assert engine.list_fraud_rules()[0] == edited
    with pytest.raises(ValidationError):
        engine.update_fraud_rule(rule.id, {"window_secs": None})
    with pytest.raises(ValidationError):
        engine.update_fraud_rule(rule.id, {"colour": "red"})
    engine.delete_fraud_rule(rule.id)
    for call in (
        lambda: engine.delete_fraud_rule(rule.id),
        lambda: engine.set_fraud_rule_active(rule.id),
        lambda: engine.update_fraud_rule(rule.id, {"threshold": 1}),
    ):
        with pytest.raises(NotFound):
            call()


def test_velocity_window_slides_on_the_clock(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    engine.create_fraud_rule(
        {"name": "v", "rule_type": "velocity", "threshold": 2, "window_secs": 60}
    )
    statuses = [create(engine, tenant.id).status for _ in range(4)]
    assert statuses == [Status.PENDING, Status.PENDING, Status.FLAGGED, Status.FLAGGED]
    clock.advance(59)
    assert create(engine, tenant.id).status is Status.FLAGGED
    clock.advance(1)  # the first two leave the window; flagged ones never counted
    assert [create(engine, tenant.id).status for _ in range(3)] == [
        Status.PENDING, Status.PENDING, Status.FLAGGED
    ]  # fmt: skip


def test_customer_scope_volume_and_blocklist(engine: Engine, tenant: Tenant) -> None:
    engine.create_fraud_rule({"name": "vol", "rule_type": "volume", "threshold": 100,
                              "window_secs": 3600, "scope": "customer"})  # fmt: skip
    engine.create_fraud_rule({"name": "bl", "rule_type": "blocklist", "values": ["cus_bad"],
                              "action": "block"})  # fmt: skip
    assert create(engine, tenant.id, 60, customer="a").status is Status.PENDING
    assert create(engine, tenant.id, 60, customer="b").status is Status.PENDING
    flagged = create(engine, tenant.id, 41, customer="a")
    assert flagged.status is Status.FLAGGED
    blocked = create(engine, tenant.id, 1, customer="cus_bad")
    assert (blocked.status, blocked.failure_code) == (Status.FAILED, "fraud_blocked")
    assert engine.events(tenant.id, blocked.id)[0].type == "payment.failed"
    fraud_event = engine.events(tenant.id, flagged.id)[0]
    assert (fraud_event.type, fraud_event.payload["rules_fired"]) == ("fraud.detected", ["vol"])
    (decision,) = engine.fraud_decisions(tenant.id, flagged.id)
    assert decision["outcome"] == "flag"
    vol = next(e for e in decision["evaluated"] if e["name"] == "vol")
    assert (vol["observed"], vol["fired"]) == (10100, True)


def test_rules_scoped_to_one_tenant(engine: Engine, tenant: Tenant) -> None:
    other = engine.register_tenant("Other", "o@x.test").tenant
    engine.create_fraud_rule(
        {"name": "lim", "rule_type": "amount_limit", "threshold": 5}, tenant.id
    )
    assert create(engine, tenant.id, 6).status is Status.FLAGGED
    assert create(engine, other.id, 6).status is Status.PENDING


def test_declined_card_tests_still_count_toward_velocity(engine: Engine, tenant: Tenant) -> None:
    engine.create_fraud_rule({"name": "v", "rule_type": "velocity", "threshold": 3,
                              "window_secs": 60, "scope": "customer"})  # fmt: skip
    for _ in range(3):  # the issuer declines every test card
        p = create(engine, tenant.id, 1, customer="tester")
        engine.simulate(tenant.id, p.id, "failed", failure_code="card_declined")
    assert create(engine, tenant.id, 1, customer="tester").status is Status.FLAGGED
    blocklist = engine.create_fraud_rule({"name": "bl", "rule_type": "blocklist",
                                          "values": ["mallory"], "action": "block"})  # fmt: skip
    for _ in range(5):  # fraud's own refusals are not counted, so they cannot snowball
        assert create(engine, tenant.id, 1, customer="mallory").status is Status.FAILED
    engine.delete_fraud_rule(blocklist.id)
    assert create(engine, tenant.id, 1, customer="mallory").status is Status.PENDING
