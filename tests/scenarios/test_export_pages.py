"""The export route's pages: every row of the asked tenants, once, in any page size."""

from __future__ import annotations

from typing import Any

import pytest

from mockpay_core import Engine, Tenant
from tests.conftest import HOOK


def page(engine: Engine, table: str, tenant_id: str, after: str | None, limit: int) -> Any:
    with engine.store.tables() as tables:
        return tables.tenant_page(table, [tenant_id], after, limit)


@pytest.mark.parametrize("table", ["payments", "deliveries", "idempotency_keys", "audit_log"])
def test_small_pages_add_up_to_the_whole_table(engine: Engine, tenant: Tenant, table: str) -> None:
    other = engine.register_tenant("Other", "other@x.test").tenant
    for owner in (tenant, other):
        for i in range(12):  # deliveries past seq 9: keys must page as numbers, not text
            p = engine.create_payment(
                owner.id, amount=10, currency="USD", webhook_url=HOOK, idempotency_key=f"k{i}"
            ).value
            engine.simulate(owner.id, p.id, "success")
    columns, whole, cursor = page(engine, table, tenant.id, None, 1000)
    assert cursor is None and len(whole) >= 12
    owner = [name for name, _ in columns].index("tenant_id")
    assert {row[owner] for row in whole} == {tenant.id}  # never another tenant's rows
    rows, after = [], None
    for _ in range(100):
        _, chunk, after = page(engine, table, tenant.id, after, 5)
        rows.extend(chunk)
        if after is None:
            break
    assert sorted(map(str, rows)) == sorted(map(str, whole))
    assert len(set(map(str, rows))) == len(rows)
