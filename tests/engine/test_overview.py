"""The engine's overview reads, on every store: payments per minute on the clock, the
newest deliveries, the newest fraud decisions, and list_payments' text search."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mockpay_core import Engine, SimulatedClock, Tenant
from mockpay_core.errors import NotFound, ValidationError
from tests.engine.helpers import captured, create


def test_payments_per_minute_end_at_the_clocks_minute(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    clock.advance(timedelta(seconds=30))
    create(engine, tenant.id)  # 3 minutes before the end
    clock.advance(timedelta(minutes=3))
    create(engine, tenant.id)
    captured(engine, tenant.id)
    counts = engine.payments_per_minute(tenant.id, minutes=5)
    assert counts.start == clock.now().replace(second=0, microsecond=0) - timedelta(minutes=4)
    assert counts.by_status["pending"] == [0, 1, 0, 0, 1]
    assert counts.by_status["success"] == [0, 0, 0, 0, 1]
    assert counts.total == 3
    assert engine.payments_per_minute(tenant.id, minutes=1).total == 2
    assert engine.payments_per_minute(None, minutes=5).total == 3  # every tenant's


def test_overview_reads_refuse_bad_bounds(engine: Engine, tenant: Tenant) -> None:
    for bad in (0, 24 * 60 + 1, True):
        with pytest.raises(ValidationError, match="minutes"):
            engine.payments_per_minute(tenant.id, minutes=bad)
    with pytest.raises(ValidationError, match="status"):
        engine.recent_deliveries(tenant.id, "lost")
    with pytest.raises(ValidationError, match="limit"):
        engine.recent_fraud_decisions(tenant.id, 0)


def test_recent_deliveries_and_decisions_are_newest_first(engine: Engine, tenant: Tenant) -> None:
    first, second = captured(engine, tenant.id), captured(engine, tenant.id)
    assert [d.payment_id for d in engine.recent_deliveries(tenant.id)] == [second.id, first.id]
    assert engine.recent_deliveries(tenant.id, "delivered") == []
    assert [d["payment_id"] for d in engine.recent_fraud_decisions(tenant.id, 1)] == [second.id]
    activity = engine.payment_activity(tenant.id, second.id)
    assert [(e.type, d and d.status.value) for e, d in activity] == [("payment.success", "pending")]
    other = engine.register_tenant("Other", "other@x.test").tenant
    with pytest.raises(NotFound):
        engine.payment_activity(other.id, second.id)


def test_a_scan_window_pages_through_rare_matches(engine: Engine, tenant: Tenant) -> None:
    made = [create(engine, tenant.id, description="rare" if n in (1, 7) else "common")
            for n in range(9)]  # fmt: skip
    seen, pages, cursor = [], 0, None
    while True:
        page = engine.list_payments(tenant.id, search="rare", scan_rows=3, cursor=cursor)
        seen += [p.id for p in page.data]
        pages += 1
        if not page.has_more:
            break
        cursor = page.next_cursor
    assert seen == [made[7].id, made[1].id]
    assert pages == 3  # 9 payments, 3 looked at a page: some pages are empty, none missed
    with pytest.raises(ValidationError, match="scan_rows"):
        engine.list_payments(tenant.id, scan_rows=0)


def test_search_is_validated_and_finds_any_case(engine: Engine, tenant: Tenant) -> None:
    shoes = create(engine, tenant.id, description="Red Shoes")
    create(engine, tenant.id, description="hat")
    assert [p.id for p in engine.list_payments(tenant.id, search="  SHOES ").data] == [shoes.id]
    assert len(engine.list_payments(tenant.id, search="").data) == 2  # blank: no filter
    with pytest.raises(ValidationError, match="search: must be at most 100"):
        engine.list_payments(tenant.id, search="x" * 101)
    with pytest.raises(ValidationError, match="search: must be text"):
        engine.list_payments(tenant.id, search=7)
