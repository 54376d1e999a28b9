"""``storage/sql/schema.py`` is the one column list: the databases and the records agree with it.

Each adapter's migrations create the tables; these tests read back what the database really
has (names, order, declared types) and what the records really carry (dataclass fields), so a
migration or a record that drifts from the list fails here and not in a mapped row.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mockpay_core.domain.model import AuditEntry, Dispute, Event, Payment, Refund, Tenant
from mockpay_core.storage.protocol import Attempt, Delivery, IdempotencyRecord
from mockpay_core.storage.sql import schema
from mockpay_core.storage.sql.queries import DELIVERY_ITEMS, RULE_FIELDS, TENANT_FIELDS
from mockpay_core.storage.sql.schema import Kind
from tests.conftest import StoreFactory

SQLITE_TYPES = {
    Kind.TEXT: "TEXT", Kind.INT: "INTEGER", Kind.REAL: "REAL", Kind.BOOL: "INTEGER",
    Kind.TIME: "TEXT", Kind.JSON: "TEXT",
}  # fmt: skip
POSTGRES_TYPES = {
    Kind.TEXT: {"text"}, Kind.INT: {"bigint", "integer"}, Kind.REAL: {"double precision"},
    Kind.BOOL: {"boolean"}, Kind.TIME: {"timestamp with time zone"}, Kind.JSON: {"json", "jsonb"},
}  # fmt: skip


def _sqlite_columns(store: Any, table: str) -> list[tuple[str, str]]:
    with store.raw_connection() as conn:
        return [(r[1], str(r[2]).upper()) for r in conn.execute(f"PRAGMA table_info({table})")]


def _postgres_columns(store: Any, table: str) -> list[tuple[str, str]]:
    with store.raw_connection() as conn:
        rows = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


@pytest.mark.parametrize("table", schema.ALL, ids=lambda t: t.name)
def test_the_database_has_the_listed_columns_in_order_with_their_kinds(
    store_kind: str, store_factory: StoreFactory, table: schema.Table
) -> None:
    store = store_factory()
    try:
        if store_kind == "postgres":
            found = _postgres_columns(store, table.name)
            assert [n for n, _ in found] == list(table.names)
            for (name, kind), (_, typed) in zip(table.columns, found, strict=True):
                assert typed in POSTGRES_TYPES[kind], (name, kind, typed)
        else:
            found = _sqlite_columns(store, table.name)
            want = [(n, SQLITE_TYPES[k]) for n, k in table.columns]
            assert found == want
    finally:
        store.close()


def _fields(record: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(record))


@pytest.mark.parametrize(
    "record, names",
    [
        (Payment, schema.PAYMENTS.names),
        (Refund, schema.REFUNDS.names),
        (Dispute, schema.DISPUTES.names),
        (AuditEntry, schema.AUDIT_LOG.names),
        (Event, schema.EVENTS.names),
        (IdempotencyRecord, schema.IDEMPOTENCY_KEYS.names),
        (Attempt, schema.DELIVERY_ATTEMPTS.names),
        (Tenant, TENANT_FIELDS),
        (Delivery, tuple(n for _, n, _ in DELIVERY_ITEMS)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_each_record_has_exactly_its_columns(record: type, names: tuple[str, ...]) -> None:
    assert set(_fields(record)) == set(names)


def test_the_records_that_map_a_subset_name_only_real_columns_of_their_kind() -> None:
    assert set(TENANT_FIELDS) <= set(schema.TENANTS.names)
    assert set(RULE_FIELDS) <= set(schema.FRAUD_RULES.names)
    joined = {"d": schema.DELIVERIES, "e": schema.EVENTS}
    for expr, _, kind in DELIVERY_ITEMS:
        alias, column = expr.split(".")
        assert joined[alias].kind(column) == kind, expr
