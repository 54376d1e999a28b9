"""/api/admin/export and /api/admin/audit: a run's tables and audit checks, for
``mockpay run --target URL`` (the same tables a scenario run on the engine exports)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

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
    with e.store.tables() as tables:  # an unknown table is NotFound
        page = tables.tenant_page(table, tenant_id, after, limit)
    return {"columns": page.columns, "rows": page.rows, "next_after": page.next_after}


@router.get("/audit/{tenant_id}/verify", summary="Recompute a tenant's audit hash chain")
def verify_audit(tenant_id: str, _: Admin_, e: Engine_) -> dict[str, Any]:
    e.get_tenant(tenant_id)
    v = e.verify_audit(tenant_id)
    return {
        "tenant_id": tenant_id, "ok": v.ok, "rows_checked": v.rows_checked,
        "broken_seq": v.broken_seq, "broken_row_id": v.broken_row_id, "reason": v.reason,
    }  # fmt: skip
