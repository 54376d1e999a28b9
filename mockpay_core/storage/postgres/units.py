"""PostgreSQL's readers, units of work and tables: the shared queries, plus its locks.

Several processes write at once, so a unit of work locks what it is about to change before
it reads it, and holds the locks until its transaction ends; every read after a lock sees
what the previous holder committed. Locks are taken in one order everywhere: tenants first
(in id order, when there are several), then the idempotency key, then the payment; so
writers never wait for each other in a circle. A deadlock that still happens is
``StorageBusy`` and the caller retries.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Final

from psycopg import errors as pgerrors

from mockpay_core.domain.delivery import Claim
from mockpay_core.domain.fraud import FraudRule, RuleSpec, WindowQuery
from mockpay_core.domain.model import AuditEntry, Payment, WebhookEndpoint
from mockpay_core.errors import IdempotencyKeyInUse
from mockpay_core.storage.postgres.dialect import POSTGRES, SQL
from mockpay_core.storage.postgres.statements import Statements
from mockpay_core.storage.protocol import IdempotencyRecord
from mockpay_core.storage.sql.deliveries import DeliveryWrites
from mockpay_core.storage.sql.dialect import Mapper
from mockpay_core.storage.sql.queries import DELIVERING, PENDING, Sql, first_open, select_list
from mockpay_core.storage.sql.reader import SqlReader
from mockpay_core.storage.sql.schema import IDEMPOTENCY_KEYS, Kind
from mockpay_core.storage.sql.tables import CHUNK_ROWS, SqlTables
from mockpay_core.storage.sql.writer import SqlUnitOfWork

# Advisory-lock key spaces (the two-integer form): keys of different kinds never collide.
IDEMPOTENCY_LOCK_SPACE: Final = 0x4D50
META_LOCK_SPACE: Final = 0x4D51
_ADVISORY_SQL: Final = "SELECT pg_advisory_xact_lock(%s, hashtext(%s))"
_TRY_ADVISORY_SQL: Final = "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))"
_LOCK_TENANTS_SQL: Final = "SELECT id FROM tenants WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE"
_HEADS_SQL: Final = (
    "SELECT t.id, a.seq, a.hash FROM tenants t JOIN LATERAL (SELECT seq, hash FROM audit_log"
    " WHERE tenant_id = t.id ORDER BY seq DESC LIMIT 1) a ON TRUE WHERE t.id = ANY(%s)"
)  # each tenant's chain head, from the end of its (tenant_id, seq) index
_RULES_SQL: Final = SQL.active_rules.replace("tenant_id = %s", "tenant_id = ANY(%s)").replace(
    " FROM fraud_rules", ", tenant_id FROM fraud_rules", 1
)  # every batched tenant's rules, each row with its owner (None: everyone's)
_ENDPOINTS_SQL: Final = SQL.endpoints_for.replace("tenant_id = %s", "tenant_id = ANY(%s)")
_LOCK_DUE_SQL: Final = SQL.dialect.render(
    f"SELECT {', '.join(SQL.payment.names)} FROM payments WHERE id = ANY(?)"
    " AND tenant_id = ANY(?) AND expires_at IS NOT NULL AND expires_at <= ?"
    " ORDER BY expires_at, id FOR UPDATE"
)
_FIRST_OPEN: Final = first_open(POSTGRES)
# Each branch walks its own partial index in time order and stops at ``limit``; rows
# another claim holds are skipped, and the picked ones leased in the same statement.
_CLAIM_SQL: Final = f"""
WITH due AS (
    SELECT d.tenant_id, d.seq, d.next_attempt_at AS at FROM deliveries d
    WHERE d.status = '{PENDING}' AND d.next_attempt_at <= %(now)s AND {_FIRST_OPEN}
    ORDER BY d.next_attempt_at, d.seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), expired AS (
    SELECT d.tenant_id, d.seq, d.lease_until AS at FROM deliveries d
    WHERE d.status = '{DELIVERING}' AND d.lease_until <= %(now)s AND {_FIRST_OPEN}
    ORDER BY d.lease_until, d.seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), picked AS (
    SELECT tenant_id, seq FROM (SELECT * FROM due UNION ALL SELECT * FROM expired) u
    ORDER BY at, seq LIMIT %(limit)s
), claimed AS (
    UPDATE deliveries d SET status = '{DELIVERING}', lease_until = %(lease)s,
        lease_owner = %(owner)s, attempts = d.attempts + 1
    FROM picked WHERE d.tenant_id = picked.tenant_id AND d.seq = picked.seq
    RETURNING d.seq, d.event_id, d.tenant_id, d.payment_id, d.attempts, d.round_start,
        d.next_attempt_at
)
SELECT c.seq, c.event_id, c.tenant_id, c.payment_id, e.type AS event_type, e.payload,
       coalesce(w.url, p.webhook_url) AS url, c.attempts AS attempt,
       c.attempts - c.round_start AS attempt_in_round,
       c.next_attempt_at AS scheduled_at, t.webhook_secret, t.previous_webhook_secret,
       t.secret_rotated_at,
       x.url IS NOT NULL OR coalesce(w.status <> 'enabled' OR w.deleted_at IS NOT NULL, FALSE)
           AS endpoint_disabled, w.secret AS endpoint_secret
FROM claimed c
JOIN events e ON e.tenant_id = c.tenant_id AND e.id = c.event_id
LEFT JOIN payments p ON p.tenant_id = c.tenant_id AND p.id = c.payment_id
JOIN tenants t ON t.id = c.tenant_id
LEFT JOIN webhook_endpoints w ON w.tenant_id = e.tenant_id AND w.id = e.endpoint_id
LEFT JOIN disabled_endpoints x ON x.tenant_id = c.tenant_id
    AND x.url = coalesce(w.url, p.webhook_url)
ORDER BY c.next_attempt_at, c.seq
"""
_CLAIMS: Final = Mapper(
    POSTGRES,
    [(n, Kind.TEXT) for n in (
        "seq", "event_id", "tenant_id", "payment_id", "event_type", "payload", "url", "attempt",
        "attempt_in_round", "scheduled_at", "webhook_secret", "previous_webhook_secret",
        "secret_rotated_at", "endpoint_disabled", "endpoint_secret",
    )],
    Claim,
)  # fmt: skip
_KEY_COLUMNS: Final = select_list(IDEMPOTENCY_KEYS.names)
_WINDOWS_AND_KEY: dict[tuple[str, ...], str] = {}


def windows_and_key(windows: tuple[str, ...]) -> str:
    """One statement for a create's reads under its locks: each fraud window a column,
    then the idempotency record's columns (all NULL when there is none). Rendered once
    per set of windows (a tenant's rules give a few)."""
    found = _WINDOWS_AND_KEY.get(windows)
    if found is None:
        counts = "".join(f"({w}), " for w in windows)
        found = (
            f"SELECT {counts}{_KEY_COLUMNS} FROM (SELECT 1) AS one"
            " LEFT JOIN idempotency_keys ON tenant_id = %s AND key = %s"
        )
        if len(_WINDOWS_AND_KEY) < 256:  # a bound all the same
            _WINDOWS_AND_KEY[windows] = found
    return found


TRIGGERS: Final = (  # (trigger, table) of the append-only tables (tamper drops them)
    ("audit_log_no_update", "audit_log"), ("audit_log_no_truncate", "audit_log"),
    ("ledger_entries_no_update", "ledger_entries"),
    ("ledger_entries_no_truncate", "ledger_entries"),
)  # fmt: skip
# INSERTs whose answer nobody reads: held back and sent together (statements.py).
HELD: Final = frozenset({
    SQL.insert_payment, SQL.insert_audit, SQL.insert_decision, SQL.insert_event,
    SQL.insert_delivery, SQL.insert_refund, SQL.insert_dispute, SQL.put_idempotency,
    SQL.record_attempt,
})  # fmt: skip


def _in_use(key: str) -> IdempotencyKeyInUse:
    return IdempotencyKeyInUse(
        f"A request with Idempotency-Key {key!r} is still running; retry later"
    )


def _count(row: Any) -> int:
    return 0 if row is None or row[0] is None else int(row[0])


class PostgresReader(SqlReader):
    sql: ClassVar[Sql] = SQL

    def _rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        return self._all(sql, params)  # a result taken whole: its cursor may be shared


@dataclass
class Batch:
    """What the units of work of one batch share: its statements (one connection, pipelined:
    sent without waiting for their answers until one is needed), the tenants it holds, and
    what nobody else can change while it holds them: once a unit has extended a held
    tenant's audit chain, that chain's head; the fraud rules and the webhook endpoints
    (each cleared when a unit writes them or rolls back)."""

    statements: Statements
    locked: set[str] = field(default_factory=set)
    heads: dict[str, tuple[int, str] | None] = field(default_factory=dict)  # None: no rows
    rules: dict[str, list[FraudRule]] = field(default_factory=dict)
    endpoints: dict[str, list[WebhookEndpoint]] = field(default_factory=dict)
    lost: bool = False
    units: int = 0  # units of work begun in it

    def holds(self, tenant_id: str | None) -> bool:
        return tenant_id is None or tenant_id in self.locked

    def rolled_back(self, heads: dict[str, tuple[int, str] | None]) -> None:
        self.heads = heads
        self.rules.clear()
        self.endpoints.clear()


def hold_tenants(batch: Batch, tenant_ids: Collection[str]) -> None:
    """Lock a batch's tenants (in id order) and read what nobody else can change while it
    holds them (their audit heads, fraud rules and webhook endpoints): four statements, one
    round trip. Each read is a statement of its own, so its snapshot is taken once the
    locks are granted."""
    conn = batch.statements.conn
    wanted = sorted(set(tenant_ids))
    locked, heads, rules, endpoints = (conn.cursor() for _ in range(4))
    locked.execute(_LOCK_TENANTS_SQL, (wanted,))
    heads.execute(_HEADS_SQL, (wanted,))
    rules.execute(_RULES_SQL, (wanted,))
    endpoints.execute(_ENDPOINTS_SQL, (wanted,))
    batch.locked = {r[0] for r in locked.fetchall()}
    batch.heads = dict.fromkeys(batch.locked)  # a tenant without audit rows has no head yet
    batch.heads.update(
        (r[0], (int(r[1]), str(r[2]))) for r in heads.fetchall() if r[0] in batch.locked
    )
    rule_rows, endpoint_rows = rules.fetchall(), SQL.endpoint.many(endpoints.fetchall())
    reader = PostgresReader(conn)
    for tenant_id in batch.locked:
        mine = [r[:-1] for r in rule_rows if r[-1] in (None, tenant_id)]
        batch.rules[tenant_id] = reader._rules(mine)
        batch.endpoints[tenant_id] = [w for w in endpoint_rows if w.tenant_id == tenant_id]


class PostgresUnitOfWork(SqlUnitOfWork, DeliveryWrites):
    """Over a transaction's ``Statements`` (its savepoints taken lazily, its INSERTs sent
    together), in a batch or on its own."""

    sql: ClassVar[Sql] = SQL

    def __init__(self, statements: Statements, batch: Batch | None = None) -> None:
        """``batch``: the batch this unit runs in, if any (its tenants are held already)."""
        super().__init__(statements)
        self._statements = statements
        self._batch = batch
        self._tenants_locked: set[str] = set(batch.locked) if batch else set()
        self._key_try: tuple[str, tuple[int, str], Any] | None = None  # its answer unread
        self._unit_rules: dict[str, list[FraudRule]] = {}  # on its own: read once a tenant
        # window statistics wanted next, read with the idempotency record: (tenant,
        # queries, changes made before); then their answers, with the same key
        self._wanted: tuple[str, tuple[WindowQuery, ...], int] | None = None
        self._known: tuple[tuple[str, tuple[WindowQuery, ...], int], dict[str, int]] | None = None

    def _settle(self) -> None:
        self._statements.settle()

    def _rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        return self._all(sql, params)  # a result taken whole: the cursor is shared

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Tenants locked inside a savepoint are let go when it rolls back: forget them
        too, and the audit heads and rules it wrote."""
        held = set(self._tenants_locked)
        heads = dict(self._batch.heads) if self._batch else {}
        try:
            with self._statements.level():
                yield
        except BaseException:
            self._tenants_locked = held
            if self._batch is not None:
                self._batch.rolled_back(heads)
            raise

    def lock_tenant(self, tenant_id: str) -> bool:
        """The tenant's row, FOR NO KEY UPDATE: its fraud windows and audit chain are ours
        until commit. Inserts into ``payments`` (foreign-key checks) are not blocked."""
        if tenant_id in self._tenants_locked:
            return True
        self._statements.cover()  # a rolled-back unit lets go of the tenants it locked
        if self._one(self.sql.lock_tenant, (tenant_id,)) is None:
            return False
        self._tenants_locked.add(tenant_id)
        return True

    def lock_tenants(self, tenant_ids: Collection[str]) -> set[str]:
        """Several tenants at once, in id order (the order every writer locks them in); the
        tenants this transaction now holds."""
        wanted = sorted(set(tenant_ids) - self._tenants_locked)
        if wanted:
            self._statements.cover()
            self._tenants_locked.update(r[0] for r in self._all(_LOCK_TENANTS_SQL, (wanted,)))
        return self._tenants_locked

    def active_rules(self, tenant_id: str) -> list[FraudRule]:
        """In a batch, read once: rules change only through a unit of work, and a batch's
        units see its snapshot of them as if they had run at its first read."""
        kept = self._unit_rules if self._batch is None else self._batch.rules
        rules = kept.get(tenant_id)
        if rules is None:
            rules = kept[tenant_id] = super().active_rules(tenant_id)
        return list(rules)

    def expect_window_stats(
        self, tenant_id: str, queries_for: Callable[[list[FraudRule]], list[WindowQuery]]
    ) -> None:
        """Read with the idempotency record (``get_idempotency``, one statement) when the
        tenant is locked: its windows change only by this unit's writes until then, so the
        answers are still true when ``window_stats`` asks (unless the unit has written
        meanwhile: then they are asked again)."""
        if tenant_id not in self._tenants_locked:
            return
        queries = queries_for(self.active_rules(tenant_id))
        if queries:
            self._wanted = (tenant_id, tuple(queries), self._statements.changes)

    def window_stats(self, tenant_id: str, queries: list[WindowQuery]) -> dict[str, int]:
        """Every query sent before any answer is waited for: one wait, or none when they
        were read with the idempotency record."""
        known, self._known = self._known, None
        if known is not None and known[0] == (tenant_id, tuple(queries), self._statements.changes):
            return known[1]
        statements = self._statements
        cursors = [
            statements.aside(*self._window_statement(tenant_id, q), slot=slot)
            for slot, q in enumerate(queries, 1)  # slot 0 is the idempotency key's try
        ]
        return {q.rule_id: _count(c.fetchone()) for q, c in zip(queries, cursors, strict=True)}

    def _windows_and_key(self, tenant_id: str, key: str) -> IdempotencyRecord | None:
        """The idempotency record, and the windows ``expect_window_stats`` wanted if any
        (kept for ``window_stats``), in one statement."""
        wanted, self._wanted = self._wanted, None
        if wanted is None or wanted[2] != self._statements.changes:
            return super().get_idempotency(tenant_id, key)
        sqls, params = [], []
        for q in wanted[1]:
            sql, args = self._window_statement(wanted[0], q)
            sqls.append(sql)
            params.extend(args)
        row = self._one(windows_and_key(tuple(sqls)), [*params, tenant_id, key])
        assert row is not None  # one row, always (a LEFT JOIN from one)
        n = len(sqls)
        self._known = (wanted, {q.rule_id: _count(row[i : i + 1]) for i, q in enumerate(wanted[1])})
        return None if row[n + 1] is None else self.sql.idempotency(row[n:])

    def insert_rule(self, rule: FraudRule, tenant_id: str | None) -> None:
        self._rules_changed()
        super().insert_rule(rule, tenant_id)

    def update_rule(self, rule_id: str, spec: RuleSpec, updated_at: datetime) -> None:
        self._rules_changed()
        super().update_rule(rule_id, spec, updated_at)

    def delete_rule(self, rule_id: str) -> bool:
        self._rules_changed()
        return super().delete_rule(rule_id)

    def _rules_changed(self) -> None:
        self._unit_rules.clear()
        if self._batch is not None:
            self._batch.rules.clear()

    def endpoints_for(self, tenant_id: str, event_type: str) -> list[WebhookEndpoint]:
        """In a batch, read once per tenant (as the rules are)."""
        if self._batch is None:
            return super().endpoints_for(tenant_id, event_type)
        found = self._batch.endpoints.get(tenant_id)
        if found is None:
            found = self._batch.endpoints[tenant_id] = SQL.endpoint.many(
                self._all(self.sql.endpoints_for, (tenant_id,))
            )
        return [w for w in found if w.wants(event_type)]

    def insert_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self._endpoints_changed()
        super().insert_endpoint(endpoint)

    def update_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self._endpoints_changed()
        super().update_endpoint(endpoint)

    def _endpoints_changed(self) -> None:
        if self._batch is not None:
            self._batch.endpoints.clear()

    def lock_idempotency_key(self, tenant_id: str, key: str) -> None:
        """Nothing to send when this transaction holds the tenant's row: every writer locks
        a key under its tenant's lock (the Protocol's order), and that lock lets no other
        writer in. Otherwise a transaction-scoped advisory lock on (tenant, key), first
        tried without waiting (free, as it nearly always is, it needs no savepoint); a held
        key is then waited for after one (a bounded wait, the session's ``lock_timeout``),
        then ``IdempotencyKeyInUse``. In a pipeline the try's answer comes with the record
        read next (``get_idempotency``): one round trip for both."""
        if tenant_id in self._tenants_locked:
            return
        args = (IDEMPOTENCY_LOCK_SPACE, f"{tenant_id}:{key}")
        self._key_try = (key, args, self._statements.aside(_TRY_ADVISORY_SQL, args))
        if self._batch is None:  # on its own: its caller hears of a held key from here
            self._key_taken()

    def _key_taken(self) -> bool:
        """The key tried last is ours: True if the try got it, False if it had to wait."""
        if self._key_try is None:
            return True
        key, args, cursor = self._key_try
        self._key_try = None
        row = cursor.fetchone()
        if row is not None and row[0]:
            return True
        self._statements.cover()
        try:
            self._one(_ADVISORY_SQL, args)
        except pgerrors.LockNotAvailable:
            raise _in_use(key) from None
        return False

    def get_idempotency(self, tenant_id: str, key: str) -> IdempotencyRecord | None:
        found = self._windows_and_key(tenant_id, key)
        if self._key_taken():
            return found
        return super().get_idempotency(tenant_id, key)  # read again, under the lock

    def finish(self) -> None:
        """The unit is done: a key it tried is settled (waited for, if it was held)."""
        self._key_taken()
        self._wanted = self._known = None

    def lock_payment(self, tenant_id: str, payment_id: str) -> Payment | None:
        if tenant_id not in self._tenants_locked:  # it may wait: undone with the unit
            self._statements.cover()
        row = self._one(self.sql.lock_payment, (payment_id, tenant_id))
        return None if row is None else self.sql.payment(row)

    def audit_head(self, tenant_id: str) -> tuple[int, str] | None:
        """The chain's head, read under the tenant's lock: one writer extends it at a time
        (in a batch, the head an earlier unit wrote, without asking)."""
        if self._batch is not None and tenant_id in self._batch.heads:
            return self._batch.heads[tenant_id]
        self.lock_tenant(tenant_id)
        return super().audit_head(tenant_id)

    def insert_audit(self, entry: AuditEntry) -> None:
        super().insert_audit(entry)
        if self._batch is not None and entry.tenant_id in self._tenants_locked:
            self._batch.heads[entry.tenant_id] = (entry.seq, entry.hash)

    def get_meta(self, key: str) -> str | None:
        """Meta rows are read-then-written flags (``default_fraud_rules_seeded``): inside a
        unit of work the key is locked first, so two processes opening a new database at
        once do not both act on its absence."""
        self._statements.cover()
        self._conn.execute(_ADVISORY_SQL, (META_LOCK_SPACE, key))
        return super().get_meta(key)

    def due_authorizations(self, now: datetime, limit: int) -> list[Payment]:
        """The expiry sweep's payments, locked: their tenants first (in id order, as every
        writer locks tenants), then the rows, read again under the locks (another sweep
        may have expired some meanwhile)."""
        seen = super().due_authorizations(now, limit)
        if not seen:
            return []
        tenants = sorted(self.lock_tenants({p.tenant_id for p in seen}))
        rows = self._all(_LOCK_DUE_SQL, ([p.id for p in seen], tenants, now))
        return self.sql.payment.many(rows)

    def claim_deliveries(
        self, now: datetime, limit: int, lease_until: datetime, owner: str
    ) -> list[Claim]:
        params = {"now": now, "limit": limit, "lease": lease_until, "owner": owner}
        return _CLAIMS.many(self._conn.execute(_CLAIM_SQL, params).fetchall())


class PostgresTables(SqlTables):
    sql: ClassVar[Sql] = SQL

    def _stream(self, sql: str) -> Iterator[list[tuple[Any, ...]]]:
        """A server-side cursor (in a transaction of its own): bounded memory."""
        with self._conn.transaction(), self._conn.cursor(name="mockpay_export") as cursor:
            cursor.execute(sql.encode())
            while rows := cursor.fetchmany(CHUNK_ROWS):
                yield rows

    def tamper(self, sql: str, params: Any = (), *, behind_triggers: bool = True) -> int:
        with self._conn.transaction():
            if behind_triggers:
                for name, table in TRIGGERS:
                    self._conn.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            if not sql.strip():
                return 0
            if params:
                cursor = self._conn.execute(self.sql.dialect.render(sql), list(params))
            else:  # as typed: several statements, no placeholders parsed
                cursor = self._conn.execute(sql.encode())
            changed = max(0, int(cursor.rowcount))
            while cursor.nextset():  # one result per statement of a script
                changed += max(0, int(cursor.rowcount))
            return changed
