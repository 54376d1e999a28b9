"""The PostgreSQL store: psycopg 3 over a psycopg_pool connection pool.

Several processes share one database, so nothing here may rely on one writer at a time (as
SQLite's ``BEGIN IMMEDIATE`` gives). Units of work run at READ COMMITTED and take explicit
locks before they read what they are about to change; a statement that follows a lock sees
everything committed before the lock was granted:

- idempotency keys: the tenant's row lock, under which every writer locks a key (a key
  locked without it: a transaction-scoped advisory lock on (tenant, key));
- fraud windows and the audit chain: the tenant's row, ``FOR NO KEY UPDATE`` (which does
  not block the foreign-key checks of inserts into ``payments``);
- refunds, captures, transitions: the payment's row, ``FOR UPDATE``;
- webhook claims: ``FOR UPDATE SKIP LOCKED`` plus a lease (``deliveries.py``).

Waits are bounded by ``lock_timeout`` (``busy_timeout_s``): then ``StorageBusy``, as is a
deadlock or a serialization failure; both are safe to retry. Readers run in a REPEATABLE
READ, READ ONLY transaction: one snapshot, no locks.

``batch(tenant_ids)`` runs several units of work in one transaction on one connection, each
in a savepoint: the tenants are locked first, in id order, once for the whole batch (with
their audit heads and rules read in the same round trip), and one COMMIT (one WAL flush)
answers them all. A reader opened inside a batch reads on its connection, so it sees the
batch's writes. What a transaction sends goes through ``Statements`` (statements.py): one
cursor, INSERTs sent together, savepoints taken before a level's first change.

``durability`` is "full" (the default: COMMIT waits for the WAL flush) or "normal"/"off"
(``synchronous_commit=off``, as SQLite's ``normal``: a crash of our process loses nothing,
a crash of PostgreSQL may lose the last moment of commits, never corrupting them).

Migrations run on open under an advisory lock, so processes starting together apply each
once. ``schema`` (or ``?schema=`` in the URL) puts the tables in a schema of their own,
created if missing: several labs on one database, or one per test.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any, Final, Literal

import psycopg
import psycopg_pool
from psycopg.pq import TransactionStatus

from mockpay_core.errors import BatchLost, StorageError, StorageUnavailable
from mockpay_core.storage.migrations import shipped
from mockpay_core.storage.open import shown, split_schema
from mockpay_core.storage.postgres.dialect import translate_errors
from mockpay_core.storage.postgres.statements import Statements
from mockpay_core.storage.postgres.units import (
    HELD,
    Batch,
    PostgresReader,
    PostgresTables,
    PostgresUnitOfWork,
    hold_tenants,
)

BUSY_TIMEOUT_S_DEFAULT: Final = 5.0
POOL_SIZE_DEFAULT: Final = 10
CONNECT_TIMEOUT_S: Final = 10
SIMULATION: Final[dict[str, Any]] = {"durability": "off"}  # throwaway runs: no WAL wait
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def migrations() -> list[tuple[int, str]]:
    """(version, sql) of every migration shipped with this adapter, in order."""
    return shipped(__package__)


def unreachable(exc: BaseException) -> str:
    """Why PostgreSQL refused a connection, in a user's words, from what libpq said."""
    said = str(exc).split("\n")[0]
    said = said.rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()
    lower = said.lower()
    if "connection refused" in lower:
        return "connection refused (is PostgreSQL running and listening on that host and port?)"
    if "timeout expired" in lower:
        return f"no answer within {CONNECT_TIMEOUT_S} s"
    if lower.startswith("database") and "does not exist" in lower:
        return f"unknown database: {said}"
    if any(w in lower for w in ("role", "password", "authentication", "pg_hba")):
        return f"authentication failed: {said}"
    if "resolve host" in lower:
        return f"unknown host: {said.removeprefix('failed to resolve host ')}"
    return said


class PostgresStore:
    """A MockPay database in PostgreSQL (``postgresql://...``), migrated on open."""

    in_process = False

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        busy_timeout_s: float = BUSY_TIMEOUT_S_DEFAULT,
        pool_size: int = POOL_SIZE_DEFAULT,
        durability: Literal["full", "normal", "off"] = "full",
        reset: bool = False,
    ) -> None:
        """``reset`` drops the store's schema first (a run starts from empty tables)."""
        url, in_url = split_schema(url)
        schema = schema or in_url
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError("schema is a lower-case SQL identifier")
        if reset and schema is None:
            raise ValueError("reset drops a schema: name one (schema= or ?schema=)")
        if not 1 <= pool_size <= 200:
            raise ValueError("pool_size is 1 to 200")
        if durability not in ("full", "normal", "off"):
            raise ValueError("durability is one of full, normal, off")
        self.url, self.schema = url, schema
        self._local = threading.local()
        options = f"-c TimeZone=UTC -c lock_timeout={int(busy_timeout_s * 1000)}"
        if durability != "full":  # COMMIT does not wait for the WAL flush
            options += " -c synchronous_commit=off"
        if schema is not None:
            options += f" -c search_path={schema}"
        self._first_connect(url, schema, reset)
        with translate_errors():
            self._pool = psycopg_pool.ConnectionPool(
                url,
                min_size=1,
                max_size=pool_size,
                kwargs={"autocommit": True, "options": options,
                        "connect_timeout": CONNECT_TIMEOUT_S},
                timeout=max(busy_timeout_s, 1.0),
                open=False,
                name=f"mockpay-{schema or 'public'}",
            )  # fmt: skip
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            self._migrate()

    @staticmethod
    def _first_connect(url: str, schema: str | None, reset: bool) -> None:
        """One direct connection before the pool's: what the server answers when it refuses
        us (the pool would only time out), and the schema made, under the migrations' lock
        (IF NOT EXISTS alone races)."""
        try:
            conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            raise StorageUnavailable(shown(url), unreachable(exc)) from None
        with translate_errors(), conn, conn.transaction():
            if schema is None:
                return
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", (schema,))
            if reset:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")

    def _migrate(self) -> None:
        with self._pool.connection() as conn, conn.transaction():
            # Keyed by schema: two processes opening one database apply each migration once.
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(current_schema(), 7))")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY)"
            )
            done = {v for (v,) in conn.execute("SELECT version FROM schema_migrations")}
            for version, script in migrations():
                if version not in done:
                    conn.execute(script.encode("utf-8"))
                    conn.execute("INSERT INTO schema_migrations VALUES (%s)", (version,))

    @property
    def durability(self) -> str:
        """ "full" while COMMIT waits for the WAL flush (``synchronous_commit=on``), else
        "normal": PostgreSQL has no "off" per session (``durability="off"`` is "normal")."""
        with translate_errors(), self._pool.connection() as conn:
            row = conn.execute("SHOW synchronous_commit").fetchone()
        return "normal" if row is None or row[0] == "off" else "full"

    def _batch(self) -> Batch | None:
        found: Batch | None = getattr(self._local, "batch", None)
        return found

    @contextmanager
    def unit_of_work(self) -> Iterator[PostgresUnitOfWork]:
        batch = self._batch()
        if batch is not None:
            yield from self._batched_unit(batch)
            return
        with translate_errors(), self._pool.connection() as conn:
            statements = Statements(conn, HELD)
            self._local.unit = statements  # a reader this thread opens meanwhile reads in it
            try:
                with conn.pipeline() as statements.pipeline:  # its end waits for the COMMIT
                    conn.execute("BEGIN")
                    try:
                        yield PostgresUnitOfWork(statements)
                        statements.flush()
                        conn.execute("COMMIT")
                    except BaseException:
                        with contextlib.suppress(psycopg.Error):  # raised already, or moot
                            statements.pipeline.sync()
                        conn.execute("ROLLBACK")
                        raise
            finally:
                self._local.unit = None

    def _batched_unit(self, batch: Batch) -> Iterator[PostgresUnitOfWork]:
        """One unit in the batch, its savepoint taken before its first change. Its
        statements are pipelined: waited for when it ends if one of them may fail (held
        INSERTs cannot: statements.py), so that their errors are its own and undo only it;
        otherwise with the next unit's first wait or the COMMIT's. A failed statement
        where nothing was changed yet (nothing to roll back to), or one that failed after
        its unit returned, loses the batch (``BatchLost``): every lock that can time out is
        taken after a savepoint, so only a broken statement or connection does that."""
        if batch.lost:
            raise BatchLost("The batch's transaction was lost")
        batch.units += 1
        statements, heads = batch.statements, dict(batch.heads)
        with translate_errors():
            try:
                with statements.level(answered=True):
                    unit = PostgresUnitOfWork(statements, batch)
                    yield unit
                    unit.finish()
            except BaseException:
                batch.rolled_back(heads)
                try:
                    statements.settle()
                except psycopg.Error:
                    batch.lost = True
                if statements.conn.info.transaction_status == TransactionStatus.INERROR:
                    batch.lost = True
                raise

    @contextmanager
    def batch(self, tenant_ids: Collection[str] = ()) -> Iterator[Batch]:
        if self._batch() is not None:
            raise StorageError("A batch cannot start inside an open transaction")
        with translate_errors(), self._pool.connection() as conn:
            batch = Batch(Statements(conn, HELD))
            try:
                with conn.pipeline() as batch.statements.pipeline:
                    conn.execute("BEGIN")  # answered with the locks: no wait of its own
                    if tenant_ids:
                        hold_tenants(batch, tenant_ids)
                    self._local.batch = batch
                    try:
                        yield batch
                    finally:
                        self._local.batch = None
                    if batch.lost:
                        raise BatchLost("The batch's transaction was lost")
                    batch.statements.flush()
                    conn.execute("COMMIT")
            except BaseException as exc:
                if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
                if batch.units > 1 and _refused(exc):  # a unit's, answered after it returned
                    raise BatchLost(f"The batch's transaction was lost: {exc}") from exc
                raise

    @contextmanager
    def reader(self) -> Iterator[PostgresReader]:
        batch = self._batch()
        inside = batch.statements if batch is not None else getattr(self._local, "unit", None)
        if inside is not None:  # in this thread's batch or unit of work: it sees their writes
            with translate_errors():
                yield PostgresReader(inside)
            return
        with translate_errors(), self._pool.connection() as conn:
            try:
                with conn.pipeline():  # BEGIN answered with the first read, COMMIT at its end
                    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    yield PostgresReader(conn)
                    conn.execute("COMMIT")
            finally:
                if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")  # a read failed, or its caller raised

    @contextmanager
    def tables(self) -> Iterator[PostgresTables]:
        with translate_errors(), self._pool.connection() as conn:
            yield PostgresTables(conn)

    @contextmanager
    def raw_connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection (autocommit), for tests that play an attacker."""
        with translate_errors(), self._pool.connection() as conn:
            yield conn

    def drop_schema(self) -> None:
        """Drop this store's own schema and everything in it (tests clean up with this)."""
        if self.schema is None:
            raise StorageError("drop_schema needs a store opened with a schema")
        with translate_errors(), self._pool.connection() as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")

    def flush(self) -> None:
        """Nothing to do: every unit of work commits by itself (group commit is SQLite's)."""

    def close(self) -> None:
        self._pool.close()


def _refused(exc: BaseException) -> bool:
    """An error the server answered for a statement (so the transaction did not commit), not
    a connection lost (after which nobody knows whether the COMMIT was kept)."""
    state = exc.sqlstate if isinstance(exc, psycopg.Error) else None
    return state is not None and not state.startswith("08")
