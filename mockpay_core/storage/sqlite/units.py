"""SQLite's readers, units of work and tables: the shared queries, plus what SQLite does
its own way. Its writer holds the database's one write lock (``BEGIN IMMEDIATE``) from
before its first read, so nothing here locks rows: a unit of work never reads a row that
another writer is about to change, and two dispatchers never claim one delivery."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Final

from mockpay_core.domain.delivery import Claim
from mockpay_core.domain.model import Payment
from mockpay_core.storage.sql.deliveries import DeliveryWrites
from mockpay_core.storage.sql.dialect import Mapper
from mockpay_core.storage.sql.queries import DELIVERING, PENDING, Sql, first_open
from mockpay_core.storage.sql.reader import SqlReader
from mockpay_core.storage.sql.schema import Kind
from mockpay_core.storage.sql.tables import SqlTables
from mockpay_core.storage.sql.writer import SqlUnitOfWork
from mockpay_core.storage.sqlite.dialect import SQL, SQLITE, ts

# Each branch of the claim orders and limits on its own index, so a pass costs O(limit)
# whatever the backlog (one global sort made draining N events cost N**2 / limit). Together
# they go in the order each became due: a delivery at its next attempt, a lease at its expiry.
_CLAIM_SQL: Final = f"""
WITH due AS (
    SELECT * FROM (
        SELECT d.tenant_id, d.seq, d.next_attempt_at AS at FROM deliveries d
        WHERE d.status = '{PENDING}' AND d.next_attempt_at <= :now AND {first_open(SQLITE)}
        ORDER BY d.next_attempt_at, d.seq LIMIT :limit
    )
    UNION ALL
    SELECT * FROM (
        SELECT d.tenant_id, d.seq, d.lease_until AS at FROM deliveries d
        WHERE d.status = '{DELIVERING}' AND d.lease_until <= :now AND {first_open(SQLITE)}
        ORDER BY d.lease_until, d.seq LIMIT :limit
    )
)
SELECT d.seq, d.event_id, d.tenant_id, d.payment_id, e.type AS event_type, e.payload,
       coalesce(w.url, p.webhook_url) AS url, d.attempts + 1 AS attempt,
       d.attempts + 1 - d.round_start AS attempt_in_round, d.next_attempt_at AS scheduled_at,
       t.webhook_secret, t.previous_webhook_secret, t.secret_rotated_at,
       x.url IS NOT NULL OR coalesce(w.status <> 'enabled' OR w.deleted_at IS NOT NULL, FALSE)
           AS endpoint_disabled, w.secret AS endpoint_secret
FROM due
JOIN deliveries d ON d.tenant_id = due.tenant_id AND d.seq = due.seq
JOIN events e ON e.tenant_id = d.tenant_id AND e.id = d.event_id
LEFT JOIN payments p ON p.tenant_id = d.tenant_id AND p.id = d.payment_id
JOIN tenants t ON t.id = d.tenant_id
LEFT JOIN webhook_endpoints w ON w.tenant_id = e.tenant_id AND w.id = e.endpoint_id
LEFT JOIN disabled_endpoints x ON x.tenant_id = d.tenant_id
    AND x.url = coalesce(w.url, p.webhook_url)
ORDER BY due.at, d.seq
LIMIT :limit
"""
_LEASE_SQL: Final = (
    f"UPDATE deliveries SET status = '{DELIVERING}', lease_until = ?, lease_owner = ?,"
    " attempts = attempts + 1 WHERE seq = ?"
)
CLAIM_COLUMNS: Final = (
    ("seq", Kind.INT), ("event_id", Kind.TEXT), ("tenant_id", Kind.TEXT),
    ("payment_id", Kind.TEXT), ("event_type", Kind.TEXT), ("payload", Kind.JSON),
    ("url", Kind.TEXT), ("attempt", Kind.INT), ("attempt_in_round", Kind.INT),
    ("scheduled_at", Kind.TIME), ("webhook_secret", Kind.TEXT),
    ("previous_webhook_secret", Kind.TEXT), ("secret_rotated_at", Kind.TIME),
    ("endpoint_disabled", Kind.BOOL), ("endpoint_secret", Kind.TEXT),
)  # fmt: skip
_CLAIMS: Final = Mapper(SQL.dialect, CLAIM_COLUMNS, Claim)
TRIGGERS: Final = (  # the append-only tables' (tamper drops them)
    "audit_log_no_update", "audit_log_no_delete",
    "ledger_entries_no_update", "ledger_entries_no_delete",
)  # fmt: skip


class SqliteReader(SqlReader):
    sql: ClassVar[Sql] = SQL


class SqliteUnitOfWork(SqlUnitOfWork, DeliveryWrites):
    sql: ClassVar[Sql] = SQL

    _tenants_seen: frozenset[str] = frozenset()

    def lock_tenant(self, tenant_id: str) -> bool:
        """BEGIN IMMEDIATE already holds the database's write lock: only check existence,
        once per unit (tenants are never deleted; a rolled-back savepoint forgets)."""
        if tenant_id in self._tenants_seen:
            return True
        if self._one(self.sql.lock_tenant, (tenant_id,)) is None:
            return False
        self._tenants_seen = self._tenants_seen | {tenant_id}
        return True

    def _rolled_back(self) -> None:
        self._tenants_seen = frozenset()

    def lock_idempotency_key(self, tenant_id: str, key: str) -> None:
        """Nothing to do: BEGIN IMMEDIATE already holds the database's write lock."""

    def lock_payment(self, tenant_id: str, payment_id: str) -> Payment | None:
        return self.get_payment(tenant_id, payment_id)

    def claim_deliveries(
        self, now: datetime, limit: int, lease_until: datetime, owner: str
    ) -> list[Claim]:
        rows = self._conn.execute(_CLAIM_SQL, {"now": ts(now), "limit": limit}).fetchall()
        self._conn.executemany(_LEASE_SQL, [(ts(lease_until), owner, r[0]) for r in rows])
        return _CLAIMS.many(rows)


class SqliteTables(SqlTables):
    sql: ClassVar[Sql] = SQL

    def tamper(self, sql: str, params: Any = (), *, behind_triggers: bool = True) -> int:
        conn = self._conn
        if behind_triggers:
            for name in TRIGGERS:
                conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        before = conn.total_changes
        if params:
            conn.execute(sql, tuple(params))
        elif sql.strip():  # a script of several statements, as an attacker types it: all or none
            try:
                conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\n;COMMIT;")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return int(conn.total_changes - before)
