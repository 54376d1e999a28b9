"""A store's tables as rows, for export and analysis (``Store.tables()``), written once.

Every row comes in SQLite's representation whichever database holds it: INTEGER, REAL or
TEXT columns, times as ISO 8601 text, booleans 0/1, JSON as its text. So a run exports the
same DuckDB tables and Parquet files, and the same seed gives the same digests, on both.
Exports leave out secrets (``schema.Table.exported``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Final

from mockpay_core.errors import NotFound, ValidationError
from mockpay_core.storage.protocol import Column, TablePage
from mockpay_core.storage.sql import schema
from mockpay_core.storage.sql.queries import Sql

CHUNK_ROWS: Final = 50_000


def exported(table: str) -> schema.Table:
    found = schema.BY_NAME.get(table)
    if found is None or found not in schema.EXPORTED:
        raise NotFound("table", table)
    return found


class SqlTables:
    """``Tables`` over one connection; each adapter adds how it streams and tampers."""

    sql: ClassVar[Sql]

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in schema.EXPORTED)

    def columns(self, table: str) -> list[Column]:
        return [(n, k.exported) for n, k in exported(table).export_columns()]

    def _select(self, table: schema.Table, names: Sequence[str]) -> str:
        kinds = dict(table.columns)
        exprs = ", ".join(self.sql.dialect.export_expr(n, kinds[n]) for n in names)
        return f"SELECT {exprs} FROM {table.name}"

    def chunks(
        self, table: str, columns: Sequence[Column], order_by: Sequence[str] = ()
    ) -> Iterator[list[tuple[Any, ...]]]:
        found = exported(table)
        names = [n for n, _ in columns]
        allowed = {n for n, _ in found.export_columns()}  # never a secret, asked for or not
        unknown = set(names) - allowed or set(order_by) - allowed
        if unknown:
            raise NotFound("column", ", ".join(sorted(unknown)))
        sql = self._select(found, names)
        if order_by:
            sql += " ORDER BY " + ", ".join(order_by)
        return self._stream(sql)

    def _stream(self, sql: str) -> Iterator[list[tuple[Any, ...]]]:
        cursor = self._conn.execute(sql)
        while rows := cursor.fetchmany(CHUNK_ROWS):
            yield [tuple(r) for r in rows]

    def tenant_page(
        self, table: str, tenant_ids: Sequence[str], after: str | None, limit: int
    ) -> TablePage:
        """One keyset page of some tenants' rows (fraud rules: also every tenant's)."""
        if limit < 1:
            raise ValidationError("a page holds at least one row", "limit")
        found = exported(table)
        d = self.sql.dialect
        columns = self.columns(table)
        where = d.any_of(found.owner or "id", len(tenant_ids))
        if table == "fraud_rules":
            where = f"({where} OR tenant_id IS NULL)"
        params: list[Any] = d.any_params(tenant_ids)
        if after is not None:
            cast = "CAST(? AS BIGINT)" if found.page_key == "seq" else "?"
            where += f" AND {found.page_key} > {cast}"
            params.append(after)
        select = self._select(found, [n for n, _ in columns])
        select = select.replace("SELECT ", f"SELECT {found.page_key} AS page_key, ", 1)
        sql = self.sql.built(
            ("page", table, len(tenant_ids), after is not None),
            lambda: f"{select} WHERE {where} ORDER BY {found.page_key} LIMIT ?",
        )
        rows = self._conn.execute(sql, [*params, limit + 1]).fetchall()
        more = len(rows) > limit
        page = [tuple(r[1:]) for r in rows[:limit]]
        return TablePage(columns, page, str(rows[limit - 1][0]) if more else None)

    def audit_rows(self, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's audit rows in chain order, every column, as stored."""
        names = schema.AUDIT_LOG.names
        sql = self.sql.built(
            ("audit_rows",),
            lambda: f"{self._select(schema.AUDIT_LOG, names)} WHERE tenant_id = ? ORDER BY seq",
        )
        rows = self._conn.execute(sql, (tenant_id,)).fetchall()
        return [dict(zip(names, r, strict=True)) for r in rows]

    def audit_head(self, tenant_id: str) -> str:
        """The hash of the tenant's last audit row ("" when it has none)."""
        row = self._conn.execute(self.sql.audit_head, (tenant_id,)).fetchone()
        return str(row[1]) if row else ""
