"""Which engine tables a run exports, and with which columns (never secrets).

Light on purpose (no DuckDB, no Polars): the server's export route reads through it too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Final

ENGINE_TABLES: Final = {
    "tenants": "id, name, email, rate_limit_tier, created_at",
    "payments": "*",
    "refunds": "*",
    "disputes": "*",
    "audit_log": "*",
    "events": "*",
    "deliveries": "*",
    "delivery_attempts": "*",
    "fraud_rules": "*",
    "fraud_decisions": "*",
    "idempotency_keys": "tenant_id, key, operation, fingerprint, succeeded, created_at, expires_at",
}
# Keyset pagination of ``tenant_page``: rowid, or the key of tables without one.
_PAGE_ORDER: Final = {"idempotency_keys": "tenant_id || ' ' || key"}
TYPES: Final = ("INTEGER", "REAL", "TEXT")
Columns = list[tuple[str, str]]  # (name, SQLite type: INTEGER, REAL or TEXT)


def table_columns(conn: sqlite3.Connection, table: str, wanted: str) -> Columns:
    """``table``'s (name, type) pairs; ``wanted`` is ``*`` or a comma-separated list."""
    info = [
        (row[1], (row[2] or "TEXT").upper()) for row in conn.execute(f"PRAGMA table_info({table})")
    ]
    if wanted != "*":
        keep = [c.strip() for c in wanted.split(",")]
        info = [c for c in info if c[0] in keep]
    return [(name, kind if kind in TYPES else "TEXT") for name, kind in info]


def tenant_page(
    conn: sqlite3.Connection, table: str, tenant_ids: Sequence[str], after: str | None, limit: int
) -> tuple[Columns, list[tuple[Any, ...]], str | None]:
    """One page of ``table``'s rows of some tenants (fraud rules: also every tenant's), with
    the columns ``ENGINE_TABLES`` exports (no secrets), and the cursor of the next page."""
    columns = table_columns(conn, table, ENGINE_TABLES[table])
    order = _PAGE_ORDER.get(table, "rowid")
    owner = "id" if table == "tenants" else "tenant_id"
    marks = ", ".join("?" * len(tenant_ids))
    where = f"({owner} IN ({marks}){' OR tenant_id IS NULL' if table == 'fraud_rules' else ''})"
    if after is not None:
        where += f" AND {order} > {'CAST(? AS INTEGER)' if order == 'rowid' else '?'}"
    quoted = ", ".join(f'"{name}"' for name, _ in columns)
    found = conn.execute(
        f"SELECT {order}, {quoted} FROM {table} WHERE {where} ORDER BY {order} LIMIT ?",
        [*tenant_ids, *([] if after is None else [after]), limit + 1],
    ).fetchall()
    more = len(found) > limit
    rows = [tuple(r[1:]) for r in found[:limit]]
    return columns, rows, str(found[limit - 1][0]) if more else None
