"""The SQLite store: stdlib sqlite3, WAL, every write in a ``BEGIN IMMEDIATE`` transaction.

``BEGIN IMMEDIATE`` takes the database's single write lock before the first read, so a
unit of work never reads a row that another writer is about to change: idempotency keys,
fraud windows, refund totals and audit chains are all decided under that lock. Writers
queue for it for at most ``busy_timeout_s``, then ``StorageBusy``. Readers never block
(WAL snapshots).

``journal="memory"`` (a rollback journal kept in memory) writes each page once instead of
twice, but readers then wait for writers and a crash can corrupt the file: it is for
throwaway simulation runs only.

A file database gives each thread its own connection. ``:memory:`` is one database per
store, shared by every thread through one connection and a lock.

``group_commit=N`` (simulation runs only) lets up to N units of work share one
transaction: each runs inside a savepoint, so a failed unit still undoes only its own
writes, and the transaction commits every N units, on ``flush()`` and on ``close()``.
Only the thread that opened the store groups its units; until a group commits, other
connections do not see its writes, and a real crash loses them all: the scenario runner
flushes before any other thread reads or writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Final, Literal

from mockpay_core.errors import AuditImmutable, StorageBusy, StorageError
from mockpay_core.storage.migrations import shipped
from mockpay_core.storage.sqlite.reader import SqliteReader
from mockpay_core.storage.sqlite.writer import SqliteUnitOfWork

Durability = Literal["full", "normal", "off"]
Journal = Literal["wal", "memory"]
BUSY_TIMEOUT_S_DEFAULT: Final = 5.0
GROUP_COMMIT_MAX: Final = 10_000
_BUSY_NAMES = ("SQLITE_BUSY", "SQLITE_LOCKED")


@contextmanager
def translate_errors() -> Iterator[None]:
    """Driver exceptions become engine exceptions here, and nowhere else."""
    try:
        yield
    except sqlite3.Error as exc:
        name = getattr(exc, "sqlite_errorname", "")
        if name.startswith(_BUSY_NAMES) or "database is locked" in str(exc):
            raise StorageBusy("The database is busy; try again") from exc
        if "append-only" in str(exc):
            raise AuditImmutable("The audit log is append-only") from exc
        raise StorageError(f"Database error: {exc}") from exc


def migrations() -> list[tuple[int, str]]:
    """(version, sql) of every migration shipped with this adapter, in order."""
    return shipped(__package__)


def _statements(script: str) -> Iterator[str]:
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    if pending.strip():
        yield pending


class SqliteStore:
    """A MockPay database in an SQLite file (or ``:memory:``), migrated on open."""

    def __init__(
        self,
        path: str = "mockpay.db",
        *,
        durability: Durability = "normal",
        busy_timeout_s: float = BUSY_TIMEOUT_S_DEFAULT,
        cache_mb: int = 16,
        journal: Journal = "wal",
        group_commit: int = 1,
    ) -> None:
        if durability not in ("full", "normal", "off"):
            raise ValueError("durability is one of full, normal, off")
        self.path = path
        self._memory = path == ":memory:"
        self._durability = durability
        self._busy_timeout_s = busy_timeout_s
        self._cache_kib = max(1, cache_mb) * 1024
        if journal not in ("wal", "memory"):
            raise ValueError("journal is wal or memory")
        self._journal = journal
        if not 1 <= group_commit <= GROUP_COMMIT_MAX:
            raise ValueError(f"group_commit is between 1 and {GROUP_COMMIT_MAX}")
        self._group_max = group_commit
        self._grouped = 0  # units of work in the open group transaction
        self._group_thread = threading.get_ident()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._shared_lock = threading.RLock() if self._memory else None
        # Threads of one process queue for writing here, in turn, rather than in SQLite's
        # busy handler, which sleeps and retries unfairly (seconds of p99 under load);
        # other processes still meet SQLite's lock and its busy timeout.
        self._writer = None if self._memory else threading.Lock()
        self._closed = False
        with translate_errors():
            self._migrate(self._connection())

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
        )
        if not self._memory:
            conn.execute(f"PRAGMA journal_mode={self._journal.upper()}")
        conn.execute(f"PRAGMA synchronous={self._durability.upper()}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA cache_size=-{self._cache_kib}")  # per connection, in KiB
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StorageError("The store is closed")
        if self._memory:
            with self._all_lock:
                if self._all:
                    return self._all[0]
            return self._open()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)"
            )
            done = {v for (v,) in conn.execute("SELECT version FROM schema_migrations")}
            for version, script in migrations():
                if version in done:
                    continue
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES (?)", (version,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _writing(self) -> Iterator[None]:
        if self._writer is None:
            yield
            return
        if not self._writer.acquire(timeout=self._busy_timeout_s):
            raise StorageBusy("The database is busy; try again")
        try:
            yield
        finally:
            self._writer.release()

    @contextmanager
    def unit_of_work(self) -> Iterator[SqliteUnitOfWork]:
        with self._shared_lock or nullcontext(), self._writing(), translate_errors():
            conn = self._connection()
            if self._group_max > 1 and (
                conn.in_transaction or threading.get_ident() == self._group_thread
            ):
                yield from self._grouped_unit(conn)
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteUnitOfWork(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _grouped_unit(self, conn: sqlite3.Connection) -> Iterator[SqliteUnitOfWork]:
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")
            self._grouped = 0
        conn.execute("SAVEPOINT unit")
        try:
            yield SqliteUnitOfWork(conn)
        except BaseException:
            if not conn.in_transaction:  # SQLite gave up the whole transaction
                raise StorageError("The group transaction was lost") from None
            conn.execute("ROLLBACK TO unit")
            conn.execute("RELEASE unit")
            raise
        conn.execute("RELEASE unit")
        self._grouped += 1
        if self._grouped >= self._group_max:
            conn.execute("COMMIT")

    def flush(self) -> None:
        """Commit this thread's open group transaction (``group_commit`` > 1), if any."""
        with self._shared_lock or nullcontext(), self._writing(), translate_errors():
            conn = self._connection()
            if conn.in_transaction:
                conn.execute("COMMIT")

    @contextmanager
    def reader(self) -> Iterator[SqliteReader]:
        with self._shared_lock or nullcontext(), translate_errors():
            conn = self._connection()
            if conn.in_transaction:  # inside this thread's open group: it sees its writes
                yield SqliteReader(conn)
                return
            conn.execute("BEGIN")
            try:
                yield SqliteReader(conn)
            finally:
                conn.execute("COMMIT")

    def raw_connection(self) -> sqlite3.Connection:
        """This thread's connection, for analysis and for tests that play an attacker."""
        return self._connection()

    def close(self) -> None:
        if self._group_max > 1 and not self._closed:
            self.flush()
        self._closed = True
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
