"""Cursor pagination: newest first by (created_at, id), no row skipped or repeated."""

from __future__ import annotations

import pytest

from mockpay_core import Engine, SimulatedClock, Tenant
from mockpay_core.errors import ValidationError
from tests.engine.helpers import create


def walk(engine: Engine, tenant_id: str, **kw: object) -> list[str]:
    seen, cursor = [], None
    while True:
        page = engine.list_payments(tenant_id, cursor=cursor, **kw)
        seen += [p.id for p in page.data]
        if not page.has_more:
            assert page.next_cursor is None
            return seen
        cursor = page.next_cursor


def test_pages_cover_every_row_once_even_with_equal_timestamps(
    engine: Engine, tenant: Tenant, clock: SimulatedClock
) -> None:
    ids = []
    for i in range(23):
        ids.append(create(engine, tenant.id, currency="USD" if i % 2 else "EUR").id)
        if i % 5 == 4:  # groups of five share a timestamp: the original skipped rows here
            clock.advance(1)
    listed = walk(engine, tenant.id, limit=3)
    assert sorted(listed) == sorted(ids) and len(listed) == len(set(listed))
    by_time = engine.list_payments(tenant.id, limit=100).data
    keys = [(p.created_at, p.id) for p in by_time]
    assert keys == sorted(keys, reverse=True) and [p.id for p in by_time] == listed


def test_filters(engine: Engine, tenant: Tenant) -> None:
    usd = [create(engine, tenant.id, currency="USD").id for _ in range(4)]
    create(engine, tenant.id, currency="EUR")
    engine.simulate(tenant.id, usd[0], "failed")
    assert sorted(walk(engine, tenant.id, limit=2, currency="usd")) == sorted(usd)
    assert walk(engine, tenant.id, status="failed") == [usd[0]]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": -5}, "limit"),
        ({"limit": "10"}, "limit"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"cursor": "W10"}, "cursor"),
        ({"cursor": "x" * 600}, "cursor"),
        ({"status": "done"}, "status"),
        ({"currency": "XYZ"}, "currency"),
    ],
)
def test_bad_parameters_are_validation_errors(
    engine: Engine, tenant: Tenant, kw: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        engine.list_payments(tenant.id, **kw)
    assert info.value.errors[0][0] == field
