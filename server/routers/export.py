"""/api/admin/export and /api/admin/audit: a run's tables and audit checks, for
``mockpay run --target URL`` (the same tables a scenario run on the engine exports)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from mockpay_core.errors import NotFound, ValidationError
from mockpay_core.scenarios import tables
from mockpay_core.scenarios.source import PostgresSource
from mockpay_core.storage.postgres import PostgresStore
from mockpay_core.storage.sqlite import SqliteStore
from server.deps import Admin_, Engine_
from server.errors import RESPONSES

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=RESPONSES)
PAGE_ROWS_MAX = 5000
TENANTS_MAX = 100


@router.get("/export/{table}", summary="One page of a table's rows of some tenants (no secrets)")
def export_table(
    table: str,
    _: Admin_,
    e: Engine_,
    tenant_id: Annotated[list[str], Query(min_length=1, max_length=TENANTS_MAX)],
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_ROWS_MAX)] = 1000,
) -> dict[str, Any]:
    if table not in tables.ENGINE_TABLES:
        raise NotFound("table", table)
    store = e.store
    if isinstance(store, SqliteStore):
        page = tables.tenant_page(store.raw_connection(), table, tenant_id, after, limit)
    elif isinstance(store, PostgresStore):
        with store.raw_connection() as conn:
            page = PostgresSource(conn).tenant_page(table, tenant_id, after, limit)
    else:
        raise ValidationError("export reads an SQLite or PostgreSQL store", "table")
    columns, rows, next_after = page
    return {"columns": columns, "rows": rows, "next_after": next_after}


@router.get("/audit/{tenant_id}/verify", summary="Recompute a tenant's audit hash chain")
def verify_audit(tenant_id: str, _: Admin_, e: Engine_) -> dict[str, Any]:
    e.get_tenant(tenant_id)
    v = e.verify_audit(tenant_id)
    return {
        "tenant_id": tenant_id, "ok": v.ok, "rows_checked": v.rows_checked,
        "broken_seq": v.broken_seq, "broken_row_id": v.broken_row_id, "reason": v.reason,
    }  # fmt: skip
