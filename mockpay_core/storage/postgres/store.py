"""The PostgreSQL store: psycopg 3 over a psycopg_pool connection pool.

Several processes share one database, so nothing here may rely on one writer at a time (as
SQLite's ``BEGIN IMMEDIATE`` gives). Units of work run at READ COMMITTED and take explicit
locks before they read what they are about to change; a statement that follows a lock sees
everything committed before the lock was granted:

- idempotency keys: a transaction-scoped advisory lock on (tenant, key);
- fraud windows and the audit chain: the tenant's row, ``FOR NO KEY UPDATE`` (which does
  not block the foreign-key checks of inserts into ``payments``);
- refunds, captures, transitions: the payment's row, ``FOR UPDATE``;
- webhook claims: ``FOR UPDATE SKIP LOCKED`` plus a lease (``deliveries.py``).

Waits are bounded by ``lock_timeout`` (``busy_timeout_s``): then ``StorageBusy``, as is a
deadlock or a serialization failure; both are safe to retry. Readers run in a REPEATABLE
READ, READ ONLY transaction: one snapshot, no locks.

``durability`` is "full" (the default: COMMIT waits for the WAL flush) or "normal"/"off"
(``synchronous_commit=off``, as SQLite's ``normal``: a crash of our process loses nothing,
a crash of PostgreSQL may lose the last moment of commits, never corrupting them).

Migrations run on open under an advisory lock, so processes starting together apply each
once. ``schema`` (or ``?schema=`` in the URL) puts the tables in a schema of their own,
created if missing: several labs on one database, or one per test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import psycopg_pool
from psycopg import errors as pgerrors

from mockpay_core.errors import AuditImmutable, EmailTaken, StorageBusy, StorageError
from mockpay_core.storage.migrations import shipped
from mockpay_core.storage.postgres.reader import PostgresReader
from mockpay_core.storage.postgres.writer import PostgresUnitOfWork

BUSY_TIMEOUT_S_DEFAULT: Final = 5.0
POOL_SIZE_DEFAULT: Final = 10
CONNECT_TIMEOUT_S: Final = 10
AUDIT_IMMUTABLE_STATE: Final = "MP001"  # raised by the audit_log trigger (0001_init.sql)
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_RETRYABLE = (
    pgerrors.LockNotAvailable,
    pgerrors.DeadlockDetected,
    pgerrors.SerializationFailure,
    pgerrors.QueryCanceled,
)


@contextmanager
def translate_errors() -> Iterator[None]:
    """Driver exceptions become engine exceptions here, and nowhere else."""
    try:
        yield
    except psycopg_pool.PoolTimeout as exc:
        raise StorageBusy("The database is busy (no free connection); try again") from exc
    except pgerrors.UniqueViolation as exc:
        if exc.diag.constraint_name == "tenants_email_norm_key":  # two registrations raced
            raise EmailTaken("Email already registered") from exc
        raise StorageError(f"Database error: {exc}") from exc
    except _RETRYABLE as exc:
        raise StorageBusy("The database is busy; try again") from exc
    except psycopg.Error as exc:
        if exc.sqlstate == AUDIT_IMMUTABLE_STATE:
            raise AuditImmutable("The audit log is append-only") from exc
        raise StorageError(f"Database error: {exc}") from exc


def split_schema(url: str) -> tuple[str, str | None]:
    """(url without it, schema) from a ``?schema=`` query parameter (not one libpq knows)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    if schema is None:
        return url, None
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def migrations() -> list[tuple[int, str]]:
    """(version, sql) of every migration shipped with this adapter, in order."""
    return shipped(__package__)


class PostgresStore:
    """A MockPay database in PostgreSQL (``postgresql://...``), migrated on open."""

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        busy_timeout_s: float = BUSY_TIMEOUT_S_DEFAULT,
        pool_size: int = POOL_SIZE_DEFAULT,
        durability: Literal["full", "normal", "off"] = "full",
    ) -> None:
        url, in_url = split_schema(url)
        schema = schema or in_url
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError("schema is a lower-case SQL identifier")
        if not 1 <= pool_size <= 200:
            raise ValueError("pool_size is 1 to 200")
        if durability not in ("full", "normal", "off"):
            raise ValueError("durability is one of full, normal, off")
        self.url, self.schema = url, schema
        options = f"-c TimeZone=UTC -c lock_timeout={int(busy_timeout_s * 1000)}"
        if durability != "full":  # COMMIT does not wait for the WAL flush
            options += " -c synchronous_commit=off"
        if schema is not None:
            options += f" -c search_path={schema}"
        with translate_errors():
            if schema is not None:
                with (
                    psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S) as c,
                    c.transaction(),
                ):  # IF NOT EXISTS alone races: under the migrations' lock
                    c.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", (schema,))
                    c.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
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

    @contextmanager
    def unit_of_work(self) -> Iterator[PostgresUnitOfWork]:
        with translate_errors(), self._pool.connection() as conn:
            conn.execute("BEGIN")
            try:
                yield PostgresUnitOfWork(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def reader(self) -> Iterator[PostgresReader]:
        with translate_errors(), self._pool.connection() as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield PostgresReader(conn)
            finally:
                conn.execute("COMMIT")

    @contextmanager
    def raw_connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection (autocommit), for analysis and for tests that play an attacker."""
        with translate_errors(), self._pool.connection() as conn:
            yield conn

    def drop_schema(self) -> None:
        """Drop this store's own schema and everything in it (tests clean up with this)."""
        if self.schema is None:
            raise StorageError("drop_schema needs a store opened with a schema")
        with translate_errors(), self._pool.connection() as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")

    def flush(self) -> None:
        """Nothing to do: every unit of work commits by itself (group commit is SQLite's,
        for scenario runs; the runner flushes whichever store it has)."""

    def close(self) -> None:
        self._pool.close()
