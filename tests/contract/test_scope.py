"""Every statement on a tenant's rows names its tenant, or is listed as reaching across them.

What the statements are: every fixed statement ``Sql`` renders, every statement it builds
from optional filters (after a workload that asks for each shape), and each adapter's claim.
A statement is scoped when every tenant-owned table it names (each alias) is compared on its
``tenant_id`` (``tenants`` on ``id``), or, for an INSERT, gets its ``tenant_id`` column. That
is what lets it run on one shard of a database distributed by tenant (docs/scaling.md).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from mockpay_core import Engine, SeededIds, SimulatedClock
from mockpay_core.config import EngineConfig
from mockpay_core.storage.postgres import units as postgres_units
from mockpay_core.storage.sql import schema
from mockpay_core.storage.sql.scope import ACROSS_TENANTS, REFERENCE_TABLES
from mockpay_core.storage.sqlite import units as sqlite_units
from mockpay_core.storage.sqlite.dialect import SQL
from mockpay_core.storage.sqlite.store import SqliteStore
from tests.conftest import START

ROOT = Path(__file__).resolve().parents[2]
OWNED = {t.name: t.owner for t in schema.ALL if t.owner and t.name not in REFERENCE_TABLES}
NOT_ALIAS = "WHERE|JOIN|ON|SET|ORDER|GROUP|LIMIT|AS"
TABLE = re.compile(rf"\b(FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+(?!{NOT_ALIAS})(\w+))?\b", re.I)
# One statement, two independent scalar subqueries (one round trip): each scans on its own.
INDEPENDENT_SCANS = {"next_delivery_due"}
INSERT_COLUMNS = re.compile(r"INSERT INTO (\w+) \(([^)]*)\)", re.I)


def _compared(column: str, sql: str) -> bool:
    """Is ``column`` (a regex) compared in ``sql``, alone or first in a row value?"""
    return any(
        re.search(pattern, sql)
        for pattern in (
            rf"{column}\s*(=|IN\b)",
            rf"=\s*{column}",
            rf"\(\s*{column}\s*,",  # (tenant_id, ...) IN / = / <
            rf"\bIN\s*\(\s*SELECT\s+{column}\s*,",  # ... IN (SELECT tenant_id, ...)
        )
    )


def shape(sql: str) -> str:
    """``single``: a tenant-owned table in ``sql`` is compared on its owner column to a
    parameter, and every other one on its owner column too (one shard's work); ``across``:
    one table, not narrowed to a tenant (every shard, each on its own); ``unjoined``: several
    tables, not all compared on the tenant (no shard could answer alone)."""
    refs, uncompared, anchored = 0, 0, False
    for verb, table, alias in TABLE.findall(sql):
        owner = OWNED.get(table.lower())
        if owner is None:
            continue
        if verb.upper() == "INTO":
            found = INSERT_COLUMNS.search(sql)
            if found is None or owner not in [c.strip() for c in found.group(2).split(",")]:
                return "unjoined"
            anchored = True
            continue
        refs += 1
        column = re.escape(f"{alias}.{owner}") if alias else rf"(?<![\w.]){owner}"
        uncompared += not _compared(column, sql)
        anchored = anchored or bool(re.search(rf"{column}\s*(=\s*\?|IN\s*\(\s*\?|=\s*ANY)", sql))
    if uncompared and refs > 1:
        return "unjoined"
    return "single" if anchored and not uncompared else "across"


def scoped(sql: str) -> bool:
    return shape(sql) == "single" or not any(OWNED.get(t.lower()) for _, t, _ in TABLE.findall(sql))


def workload(tmp_path: Path) -> None:
    """Every reader and writer call that builds a statement of its own shape."""
    clock = SimulatedClock(START)
    config = EngineConfig(seed_default_fraud_rules=True)
    engine = Engine(
        SqliteStore(str(tmp_path / "w.db")), clock=clock, ids=SeededIds(3), config=config
    )
    t = engine.register_tenant("Acme", "a@acme.test").tenant
    p = engine.create_payment(t.id, amount=500, currency="USD", webhook_url="http://127.0.0.1:9/h",
                              idempotency_key="k1").value  # fmt: skip
    engine.list_payments(t.id, status="pending", currency="USD")
    engine.list_payments(t.id, search="shoes")
    engine.list_payments(t.id, status="pending", search="shoes", scan_rows=1)
    engine.payment_activity(t.id, p.id)
    engine.recent_fraud_decisions(t.id)
    for tenant_id in (None, t.id):  # the dashboard's reads, a tenant's and the admin's
        engine.payments_per_minute(tenant_id)
        for status in (None, "pending", "delivering", "delivered", "dead"):
            engine.recent_deliveries(tenant_id, status)
    engine.metrics(None)
    engine.metrics(t.id)
    store = engine.store
    with store.reader() as r:
        for tenant_id in (None, t.id):
            r.deliveries(tenant_id, payment_id=p.id, status="pending")
            r.dead_deliveries(tenant_id, 10)
            r.attempts(tenant_id, None, 10)
            r.delivery_metrics(tenant_id)
    with store.unit_of_work() as uow:
        for tenant_id in (None, t.id):
            uow.replay_dead(START, tenant_id=tenant_id, since=START - timedelta(days=1))
            uow.replay_dead(START, tenant_id=tenant_id)
    with store.tables() as tables:
        for name in tables.names:
            tables.tenant_page(name, [t.id], None, 10)
            tables.tenant_page(name, [t.id], "0", 10)
        tables.audit_rows(t.id)
    engine.close()


def statements(tmp_path: Path) -> dict[str, list[str]]:
    workload(tmp_path)
    found: dict[str, list[str]] = {}
    for name, value in vars(SQL).items():
        if isinstance(value, str) and value.lstrip().upper().startswith(
            ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
        ):
            found.setdefault(name, []).append(value)
    for key, value in SQL._built.items():
        found.setdefault(str(key[0]), []).append(value)
    for module in (sqlite_units, postgres_units):
        found.setdefault("claim_deliveries", []).append(module._CLAIM_SQL)
    for name, value in vars(postgres_units).items():  # the adapter's own: locks, a batch's reads
        if name.endswith("_SQL") and name != "_CLAIM_SQL" and " FROM " in value:
            found.setdefault(f"postgres{name}", []).append(value.replace("%s", "?"))
    return found


def test_every_statement_names_its_tenant_or_is_listed_as_reaching_across(tmp_path: Path) -> None:
    found = statements(tmp_path)
    assert len(found) > 60  # the workload reached the built statements too
    unscoped = {name for name, texts in found.items() if not all(scoped(t) for t in texts)}
    assert unscoped - set(ACROSS_TENANTS) == set(), "statements that span tenants unlisted"
    unjoined = {
        name for name, texts in found.items() if any(shape(t) == "unjoined" for t in texts)
    } - INDEPENDENT_SCANS
    assert unjoined == set(), "a table not joined on the tenant: not one shard's work either"
    assert set(ACROSS_TENANTS) - set(found) == set(), "listed names no statement has"


def test_the_list_and_docs_scaling_agree() -> None:
    doc = (ROOT / "docs" / "scaling.md").read_text()
    missing = [name for name in ACROSS_TENANTS if f"`{name}`" not in doc]
    assert missing == []


@pytest.mark.parametrize(
    "sql, ok",
    [
        ("SELECT id FROM payments WHERE id = ? AND tenant_id = ?", True),
        ("SELECT id FROM payments WHERE id = ?", False),
        ("SELECT 1 FROM tenants WHERE id = ?", True),
        ("SELECT 1 FROM tenants WHERE email_norm = ?", False),
        ("INSERT INTO refunds (id, payment_id, tenant_id) VALUES (?, ?, ?)", True),
        ("INSERT INTO refunds (id, payment_id) VALUES (?, ?)", False),
        ("SELECT d.seq FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.tenant_id = ?",
         False),
        ("SELECT d.seq FROM deliveries d JOIN events e ON e.id = d.event_id"
         " AND e.tenant_id = d.tenant_id WHERE d.tenant_id = ?", True),
        ("SELECT value FROM meta WHERE key = ?", True),
        ("UPDATE deliveries SET status = ? WHERE seq IN (SELECT d.seq FROM deliveries d"
         " WHERE d.tenant_id = ?)", False),
        ("UPDATE deliveries SET status = ? WHERE (tenant_id, seq) IN (SELECT d.tenant_id, d.seq"
         " FROM deliveries d WHERE d.tenant_id = ?)", True),
    ],
)  # fmt: skip
def test_the_check_tells_scoped_from_not(sql: str, ok: bool) -> None:
    assert scoped(sql) is ok


def test_the_check_tells_a_colocated_sweep_from_an_unjoined_one() -> None:
    assert (
        shape(
            "SELECT d.seq FROM deliveries d JOIN events e ON e.id = d.event_id"
            " AND e.tenant_id = d.tenant_id WHERE d.status = 'dead'"
        )
        == "across"
    )
    assert shape("SELECT d.seq FROM deliveries d JOIN events e ON e.id = d.event_id") == "unjoined"
    assert shape("SELECT id FROM payments WHERE expires_at <= ?") == "across"
