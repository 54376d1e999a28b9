"""The storage contract for ``Store.tables``: the exported tables, their columns and rows
in SQLite's representation on every store, keyset pages, the audit log, and ``tamper``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from mockpay_core import Status
from mockpay_core.domain import ledger, ledger_chain
from mockpay_core.domain.delivery import Attempt
from mockpay_core.domain.fraud import FraudDecision, FraudRule, Outcome, RuleSpec
from mockpay_core.domain.model import (
    Customer,
    Dispute,
    DisputeStatus,
    Event,
    Fee,
    Payout,
    PayoutStatus,
    Refund,
    WebhookEndpoint,
)
from mockpay_core.domain.retry import DeliveryStatus
from mockpay_core.errors import AuditImmutable, NotFound, StorageError, ValidationError
from mockpay_core.storage.protocol import IdempotencyRecord, Store, Tables
from mockpay_core.storage.sql.tables import CHUNK_ROWS
from mockpay_core.storage.sqlite import SqliteStore
from tests.conftest import START
from tests.contract.test_store_contract import audit, payment, tenant

S = timedelta(seconds=1)
EXPORTED = (
    "tenants", "payments", "refunds", "disputes", "audit_log", "events", "deliveries",
    "delivery_attempts", "fraud_rules", "fraud_decisions", "idempotency_keys",
    "webhook_endpoints", "customers", "ledger_entries", "fees", "payouts",
)  # fmt: skip
ORDER = {"deliveries": ["seq"], "idempotency_keys": ["tenant_id", "key"]}
SECRETS = {
    "api_key_hash", "email_norm", "webhook_secret", "previous_webhook_secret", "response",
    "secret",
}  # fmt: skip
PYTHON_TYPE = {"INTEGER": int, "REAL": float, "TEXT": str}
Row = tuple[Any, ...]


def write_everything(store: Store) -> None:
    """A little of every table, through the Protocol: what a run leaves behind."""
    spec = RuleSpec(name="v", rule_type="volume", threshold=Decimal("2.50"), window_secs=60)  # type: ignore[arg-type]
    p1 = payment(1, Status.SUCCESS, captured_minor=100, refunded_minor=30, disputed_minor=10,
                 customer="cus_é", description="tea", metadata={"b": "2", "a": "1"})  # fmt: skip
    p2 = payment(2, Status.AUTHORIZED, seconds=1, expires_at=START + timedelta(days=7))
    p3 = payment(3, tenant_id="t2", seconds=2)
    with store.unit_of_work() as uow:
        uow.insert_tenant(tenant(1), "hash-1")
        uow.insert_tenant(tenant(2), "hash-2")
        uow.update_tenant(dataclasses.replace(
            tenant(2), webhook_secret="whsec_y", previous_webhook_secret="whsec_x",
            secret_rotated_at=START + S,
        ))  # fmt: skip
        for p in (p1, p2, p3):
            uow.insert_payment(p)
        uow.insert_refund(Refund("r1", "p001", "t1", 30, "USD", None, START + 3 * S))
        uow.insert_dispute(
            Dispute("d1", "p001", "t1", 10, "USD", "fraud", DisputeStatus.LOST, START, START + S)
        )
        uow.insert_audit(audit(1))
        uow.insert_audit(dataclasses.replace(audit(2), metadata={"z": [1, 2.5, None, "é"]}))
        nested = {"data": {"amount_minor": 100, "b": 1, "a": True}}  # key order as written
        uow.insert_event(Event("e1", "t1", "p001", "payment.succeeded", nested, START))
        uow.insert_event(Event("e2", "t1", "p002", "payment.authorized", {}, START + S))
        uow.insert_event(Event("e3", "t2", "p003", "payment.created", {"x": "é"}, START + 2 * S))
        uow.insert_customer(Customer("c1", "t1", "é@x.test", "Ann", None, {"a": "1"}, START, START))
        uow.insert_endpoint(WebhookEndpoint(
            "w1", "t1", "http://h/", ["*"], "whsec_w", "enabled", "é", {"a": "1"}, None, START,
        ))  # fmt: skip
        uow.insert_rule(FraudRule("r-global", spec, START, START), None)
        uow.insert_rule(FraudRule("r-t1", spec.model_copy(update={"is_active": False}),
                                  START, START + S), "t1")  # fmt: skip
        uow.insert_rule(FraudRule("r-t2", spec, START, START), "t2")
        uow.insert_decision("fd1", p1, FraudDecision(Outcome.ALLOW, ({"fired": False},)))
        uow.put_idempotency(IdempotencyRecord(
            "t1", "k1", "create_payment", "fp", True, {"id": "p001"}, START, START + 9 * S,
        ))  # fmt: skip
        uow.put_idempotency(IdempotencyRecord(
            "t2", "k1", "create_payment", "fp", False, {"error": "x"}, START, START + 9 * S,
        ))  # fmt: skip
        moves = ledger.capture("p001", "USD", 100, 33, held=False)
        for rows in ledger_chain.chain("t1", "p001", None, moves, START, START + 2 * S):
            uow.insert_ledger_entries(rows)
        uow.insert_fee(Fee("capture:p001", "t1", "p001", "capture", "USD", 33, START))
        uow.insert_payout(Payout("po1", "t1", "USD", 5, PayoutStatus.FAILED, "x", "on_demand",
                                 START + S))  # fmt: skip
    with store.unit_of_work() as uow:
        claims = uow.claim_deliveries(START + 2 * S, 10, START + 60 * S, "a")
        assert [c.event_id for c in claims] == ["e1", "e2", "e3"]
        uow.record_attempt(Attempt("a1", "e1", "t1", 1, "http://h/", START, START + S, 0.1,
                                   200, None, "ok", True))  # fmt: skip
        uow.record_attempt(Attempt("a2", "e2", "t1", 1, "http://h/", START + S, START + 2 * S,
                                   1234.5678, None, "timeout", None, False))  # fmt: skip
        uow.finish_delivery("e1", "a", DeliveryStatus.DELIVERED, START + S)
        uow.finish_delivery("e2", "a", DeliveryStatus.DEAD, START + 2 * S, last_error="timeout",
                            dead_reason="retries")  # fmt: skip


def every_row(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.tables() as t:
        return {
            name: [r for chunk in t.chunks(name, t.columns(name), ORDER.get(name, ["id"]))
                   for r in chunk]
            for name in t.names
        }  # fmt: skip


@pytest.fixture
def written(store: Store) -> Store:
    write_everything(store)
    return store


@pytest.fixture(scope="module")
def sqlite_rows() -> dict[str, list[tuple[Any, ...]]]:
    """What SQLite exports for ``write_everything``: the reference every store must match."""
    reference = SqliteStore(":memory:")
    try:
        write_everything(reference)
        return every_row(reference)
    finally:
        reference.close()


def test_names_are_the_exported_tables_in_order(store: Store) -> None:
    with store.tables() as t:
        assert t.names == EXPORTED


def test_columns_are_typed_as_sqlite_types_and_hold_no_secrets(store: Store) -> None:
    with store.tables() as t:
        assert t.columns("tenants") == [
            ("id", "TEXT"), ("name", "TEXT"), ("email", "TEXT"), ("rate_limit_tier", "TEXT"),
            ("created_at", "TEXT"),
        ]  # fmt: skip
        attempts = dict(t.columns("delivery_attempts"))
        assert (attempts["attempt"], attempts["duration_ms"], attempts["succeeded"]) == (
            "INTEGER", "REAL", "INTEGER",
        )  # fmt: skip
        assert dict(t.columns("idempotency_keys")).keys() == {
            "tenant_id", "key", "operation", "fingerprint", "succeeded", "created_at",
            "expires_at",
        }  # fmt: skip
        for name in t.names:
            found = t.columns(name)
            assert found and not SECRETS & {c for c, _ in found}, name
            assert {kind for _, kind in found} <= set(PYTHON_TYPE), name
        for unknown in ("meta", "disabled_endpoints", "schema_migrations", "nope"):
            with pytest.raises(NotFound):
                t.columns(unknown)


def test_chunks_give_every_row_in_order_of_the_columns_asked(written: Store) -> None:
    with written.tables() as t:
        rows = [r for c in t.chunks("payments", [("amount_minor", "INTEGER"), ("id", "TEXT")],
                                    order_by=["tenant_id", "id"]) for r in c]  # fmt: skip
        assert rows == [(100, "p001"), (200, "p002"), (300, "p003")]
        desc = [r for c in t.chunks("events", [("id", "TEXT")], ["payment_id", "id"]) for r in c]
        assert desc == [("e1",), ("e2",), ("e3",)]
        assert sorted(r for c in t.chunks("refunds", [("id", "TEXT")]) for r in c) == [("r1",)]


def test_chunks_refuse_what_is_not_there(written: Store) -> None:
    with written.tables() as t:
        with pytest.raises(NotFound):
            list(t.chunks("payments", [("nope", "TEXT")]))
        with pytest.raises(NotFound):
            list(t.chunks("payments", [("id", "TEXT")], order_by=["nope"]))
        with pytest.raises(NotFound):
            list(t.chunks("meta", [("key", "TEXT")]))


def test_chunks_are_bounded(store: Store) -> None:
    bulk = CHUNK_ROWS + 1
    with store.tables() as t:
        made = t.tamper(
            "INSERT INTO tenants (id, name, email, email_norm, api_key_hash, webhook_secret,"
            " rate_limit_tier, created_at) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL"
            f" SELECT i + 1 FROM n WHERE i < {bulk}) SELECT 'b' || (100000 + i), 'Bulk',"
            " 'b' || i || '@x.test', 'b' || i || '@x.test', 'k' || i, 's', 'standard',"
            " '2026-03-01T12:00:00.000000+00:00' FROM n",
            behind_triggers=False,
        )
        assert made == bulk
        sizes, last = [], ""
        for chunk in t.chunks("tenants", [("id", "TEXT")], order_by=["id"]):
            sizes.append(len(chunk))
            assert last < chunk[0][0] and [r[0] for r in chunk] == sorted(r[0] for r in chunk)
            last = chunk[-1][0]
    assert len(sizes) >= 2 and max(sizes) <= CHUNK_ROWS and sum(sizes) == bulk


def pages(t: Tables, table: str, tenant_ids: list[str], limit: int) -> Iterator[list[Row]]:
    after = None
    for _ in range(100):
        page = t.tenant_page(table, tenant_ids, after, limit)
        assert page.columns == t.columns(table)
        yield page.rows
        if page.next_after is None:
            return
        after = page.next_after
    raise AssertionError("no last page")


@pytest.mark.parametrize(
    ("table", "tenant_ids", "key", "expected"),
    [
        ("payments", ["t1"], 0, ["p001", "p002"]),
        ("payments", ["t2", "t1"], 0, ["p001", "p002", "p003"]),
        ("tenants", ["t2"], 0, ["t2"]),
        ("fraud_rules", ["t1"], 0, ["r-global", "r-t1"]),  # and the global ones
        ("fraud_rules", [], 0, ["r-global"]),
        ("events", ["t1"], 0, ["e1", "e2"]),
        ("deliveries", ["t1", "t2"], 1, ["e1", "e2", "e3"]),  # by seq
        ("idempotency_keys", ["t2", "t1"], 0, ["t1", "t2"]),
        ("delivery_attempts", ["t2"], 0, []),
    ],
)
@pytest.mark.parametrize("limit", [1, 2, 100])
def test_tenant_page_walks_some_tenants_rows(
    written: Store, table: str, tenant_ids: list[str], key: int, expected: list[str], limit: int
) -> None:
    with written.tables() as t:
        walked = list(pages(t, table, tenant_ids, limit))
        everything = {r[key]: r for c in t.chunks(table, t.columns(table)) for r in c}
    assert [len(p) for p in walked[:-1]] == [limit] * (len(walked) - 1)
    assert len(walked[-1]) <= limit
    rows = [r for p in walked for r in p]
    assert [r[key] for r in rows] == expected
    assert rows == [everything[r[key]] for r in rows]  # the exported columns and values


def test_a_page_that_ends_exactly_has_no_next(written: Store) -> None:
    with written.tables() as t:
        first = t.tenant_page("payments", ["t1"], None, 2)
        assert ([r[0] for r in first.rows], first.next_after) == (["p001", "p002"], None)
        short = t.tenant_page("payments", ["t1"], None, 1)
        assert short.next_after is not None
        rest = t.tenant_page("payments", ["t1"], short.next_after, 5)
        assert ([r[0] for r in rest.rows], rest.next_after) == (["p002"], None)


def test_audit_rows_and_head(written: Store) -> None:
    with written.tables() as t:
        assert t.audit_head("t2") == ""
        assert t.audit_head("t1") == f"{2:064d}"
        rows = t.audit_rows("t1")
        assert t.audit_rows("t2") == []
    assert [r["seq"] for r in rows] == [1, 2]
    assert rows[0] == {
        "id": "a1", "tenant_id": "t1", "payment_id": "p001", "seq": 1, "old_status": None,
        "new_status": "pending", "action": "create", "triggered_by": "test",
        "metadata": '{"n":1}', "created_at": "2026-03-01T12:00:00.000000+00:00",
        "prev_hash": "0" * 64, "hash": f"{1:064d}",
    }  # fmt: skip
    assert rows[1]["metadata"] == '{"z":[1,2.5,null,"é"]}'


def test_tamper_behind_the_triggers_changes_the_audit_log(written: Store) -> None:
    sql = "UPDATE audit_log SET new_status = ? WHERE tenant_id = ? AND seq = ?"
    with pytest.raises(AuditImmutable), written.tables() as t:
        t.tamper(sql, ("success", "t1", 1), behind_triggers=False)
    with written.tables() as t:
        assert t.audit_rows("t1")[0]["new_status"] == "pending"  # refused, nothing changed
        assert t.tamper(sql, ("success", "t1", 1)) == 1
        assert t.audit_rows("t1")[0]["new_status"] == "success"
        # The triggers stay dropped, as an attacker leaves them.
        assert t.tamper("DELETE FROM audit_log WHERE seq = ?", (2,), behind_triggers=False) == 1
        assert [r["seq"] for r in t.audit_rows("t1")] == [1]
        assert t.audit_head("t1") == f"{1:064d}"
        assert t.tamper("UPDATE payments SET amount_minor = 5 WHERE id = 'nope'") == 0
    with written.reader() as r:
        assert [e.new_status for e in r.audit_for_payment("t1", "p001")] == ["success"]


def test_tamper_with_an_empty_statement_only_drops_the_triggers(written: Store) -> None:
    with written.tables() as t:
        assert t.tamper("") == 0
        assert t.tamper("UPDATE audit_log SET action = 'x'", behind_triggers=False) == 2
        assert {r["action"] for r in t.audit_rows("t1")} == {"x"}


def test_rows_come_in_sqlites_representation(written: Store) -> None:
    with written.tables() as t:
        kinds = {name: t.columns(name) for name in t.names}
    for name, rows in every_row(written).items():
        assert rows, name
        for row in rows:
            for value, (column, kind) in zip(row, kinds[name], strict=True):
                assert value is None or type(value) is PYTHON_TYPE[kind], (name, column, value)


def test_equal_writes_give_equal_rows_on_every_store(
    written: Store, sqlite_rows: dict[str, list[tuple[Any, ...]]]
) -> None:
    found = every_row(written)
    for name in EXPORTED:
        assert found[name] == sqlite_rows[name], name


def test_a_utc_time_is_written_as_utc_text_whatever_came_before(store: Store) -> None:
    instant = START + timedelta(seconds=7, microseconds=314159)  # no other test writes it
    with store.unit_of_work() as uow:
        uow.insert_tenant(tenant(1), "hash-1")
        uow.replay_dead(START, since=instant.astimezone(timezone(timedelta(hours=2))))
        uow.insert_payment(payment(1, created_at=instant, updated_at=instant))
    with store.tables() as t:
        [[created]] = list(t.chunks("payments", [("created_at", "TEXT")]))
    assert created == (instant.isoformat(timespec="microseconds"),)


def test_tamper_counts_the_rows_every_statement_of_a_script_changed(written: Store) -> None:
    script = (
        "UPDATE audit_log SET action = 'x' WHERE seq = 1;"
        " UPDATE audit_log SET action = 'y' WHERE seq = 2;"
        " UPDATE payments SET description = 'none' WHERE id = 'nope'"
    )
    with written.tables() as t:
        assert [r["action"] for r in t.audit_rows("t1")] == ["create", "create"]
        changed = t.tamper(script)
        assert [r["action"] for r in t.audit_rows("t1")] == ["x", "y"]
    assert changed == 2


def test_a_tamper_script_that_fails_changes_nothing(written: Store) -> None:
    """A script runs "in a transaction of its own": all of it, or none of it."""
    script = "UPDATE payments SET description = 'x' WHERE id = 'p001'; UPDATE nope SET a = 1"
    with pytest.raises(StorageError), written.tables() as t:
        t.tamper(script, behind_triggers=False)
    with written.reader() as r:
        found = r.get_payment("t1", "p001")
    assert found is not None and found.description == "tea"


def test_a_secret_column_is_not_there_to_scan_even_when_named(written: Store) -> None:
    with written.tables() as t:
        for secret in ("api_key_hash", "webhook_secret", "email_norm"):
            with pytest.raises(NotFound):
                list(t.chunks("tenants", [("id", "TEXT"), (secret, "TEXT")]))
            with pytest.raises(NotFound):
                list(t.chunks("tenants", [("id", "TEXT")], order_by=[secret]))


def test_a_page_holds_at_least_one_row(written: Store) -> None:
    with written.tables() as t, pytest.raises(ValidationError):
        t.tenant_page("payments", ["t1"], None, 0)
