"""The SQLite store: stdlib sqlite3, WAL, every write in a ``BEGIN IMMEDIATE`` transaction.

``BEGIN IMMEDIATE`` takes the database's single write lock before the first read, so a
unit of work never reads a row that another writer is about to change: idempotency keys,
fraud windows, refund totals and audit chains are all decided under that lock. Writers
queue for it for at most ``busy_timeout_s``, then ``StorageBusy``. Readers never block
(WAL snapshots).

A file database in WAL mode checkpoints on a thread of its own, outside the write lock
(``Checkpointer`` in checkpoints.py); ``background_checkpoints=False`` leaves it to
SQLite, which checkpoints inside the COMMIT that fills the WAL.

``journal="memory"`` (a rollback journal kept in memory) writes each page once instead of
twice, but readers then wait for writers and a crash can corrupt the file: it is for
throwaway simulation runs only.

A file database gives each thread its own connection. ``:memory:`` is one database per
store, shared by every thread through one connection and a lock.

Writers queue for the write lock in two places before SQLite's own: the threads of one
process on a lock that wakes them in turn, and processes on an ``flock`` of the file
``<database>-lock`` beside the database, which the kernel hands on as it is let go.
SQLite's busy handler sleeps 1, 2, 5, ... 100 ms between tries and favours no one: under a
steady load from two processes it left writers waiting most of a second.

Several units of work can share one transaction, each inside its own savepoint, so a
failed unit still undoes only its own writes:

- ``batch()``: the units this thread runs inside it, committed when it ends (the server
  commits the requests that arrive together at once; a commit costs far more than a unit);
- ``group_commit=N`` (simulation runs only): the units of the thread that opened the store,
  committed every N units, on ``flush()`` and on ``close()``. Until a group commits, other
  connections do not see its writes, and a real crash loses them all: the scenario runner
  flushes before any other thread reads or writes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Collection, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Final, Literal

from mockpay_core.errors import StorageBusy, StorageError, StorageUnavailable
from mockpay_core.storage.migrations import shipped
from mockpay_core.storage.protocol import WholeDatabase
from mockpay_core.storage.sqlite.checkpoints import BACKSTOP_PAGES, Checkpointer
from mockpay_core.storage.sqlite.dialect import translate_errors
from mockpay_core.storage.sqlite.units import SqliteReader, SqliteTables, SqliteUnitOfWork

try:
    import fcntl
except ImportError:  # Windows: threads still queue, processes meet SQLite's busy handler
    fcntl = None  # type: ignore[assignment]

Durability = Literal["full", "normal", "off"]
Journal = Literal["wal", "memory"]
BUSY_TIMEOUT_S_DEFAULT: Final = 5.0
GROUP_COMMIT_MAX: Final = 10_000
EXPORT_CACHE_KIB: Final = 8 * 1024  # the page cache while DuckDB reads the tables out
# Simulations are throwaway: no fsync, pages written once, a bigger cache for long runs,
# and units of work committed in groups (flushed before any other connection looks).
SIMULATION: Final[dict[str, Any]] = {
    "durability": "off", "journal": "memory", "cache_mb": 128, "group_commit": 200,
}  # fmt: skip


_SYNCHRONOUS: Final = ("off", "normal", "full")  # PRAGMA synchronous = 0, 1, 2


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


class WriteLock:
    """One writer at a time: a re-entrant lock for this process's threads, then (for a file)
    an ``flock`` of ``<database>-lock`` for other processes, held while the outermost
    holder holds the first. A thread waiting longer than ``timeout_s`` for the first raises
    ``StorageBusy``; a process waits for the second as long as another holds it, which is
    one transaction (no network inside), and the kernel lets go of a dead process's."""

    def __init__(self, lock_path: str | None, timeout_s: float) -> None:
        self._threads = threading.RLock()
        self._depth = 0  # changed only by the thread holding self._threads
        self._path, self._timeout_s = lock_path, timeout_s
        self._fd: int | None = None

    def acquire(self) -> None:
        if not self._threads.acquire(timeout=self._timeout_s):
            raise StorageBusy("The database is busy; try again")
        if self._depth == 0 and self._path is not None and fcntl is not None:
            try:
                self._lock_file()
            except BaseException:
                self._threads.release()
                raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None and fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def _lock_file(self) -> None:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)  # type: ignore[arg-type]
        # Blocking: the kernel wakes the waiter as the holder lets go. Polling with
        # LOCK_NB (even every 50 µs to 1 ms) let the holder's next batch win again and
        # again: p99 124 ms against 34 ms blocking, at 8 connections on two processes.
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def unopenable(path: str, exc: BaseException) -> str:
    """Why SQLite could not open ``path``, in a user's words (``exc`` is what it said)."""
    if "not a database" in str(exc):
        return "the file is not an SQLite database"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"the folder {folder} does not exist"
    if os.path.isdir(path):
        return "that is a folder, not a database file"
    existed = os.path.exists(path)
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o644))
    except OSError as err:
        doing = "open the file" if existed else f"create a file in {folder}"
        return f"cannot {doing}: {(err.strerror or str(err)).lower()}"
    if not existed:
        os.remove(path)
    if not os.access(folder, os.W_OK):  # SQLite writes its -wal and -shm files beside it
        return f"cannot create files in {folder} (SQLite keeps its journal beside the database)"
    return str(exc)


class SqliteStore:
    """A MockPay database in an SQLite file (or ``:memory:``), migrated on open."""

    in_process = True

    def __init__(
        self,
        path: str = "mockpay.db",
        *,
        durability: Durability = "normal",
        busy_timeout_s: float = BUSY_TIMEOUT_S_DEFAULT,
        cache_mb: int = 16,
        journal: Journal = "wal",
        group_commit: int = 1,
        background_checkpoints: bool = True,
        reset: bool = False,
    ) -> None:
        """``reset`` deletes the database first (a new file, as a new run starts from)."""
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
        self._writer = None if self._memory else WriteLock(f"{path}-lock", busy_timeout_s)
        self._closed = False
        if reset and not self._memory:
            for leftover in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
                if os.path.exists(leftover):
                    os.remove(leftover)
        self._checkpointer = (
            Checkpointer(weakref.WeakMethod(self._checkpoint))
            if background_checkpoints and not self._memory and journal == "wal"
            else None
        )
        try:
            # Under the write lock: turning a new file to WAL mode answers SQLITE_BUSY at
            # once, past the busy handler, to every other connection doing the same.
            with self._writing(), translate_errors():
                self._migrate(self._connection())
        except StorageBusy:
            raise
        except (StorageError, OSError) as exc:  # OSError: the lock file beside it
            self._release()
            cause = (exc.__cause__ or exc) if isinstance(exc, StorageError) else exc
            raise StorageUnavailable(path, unopenable(path, cause)) from None

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
        )
        if not self._memory:
            conn.execute(f"PRAGMA journal_mode={self._journal.upper()}")
        if self._checkpointer is not None:
            conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        conn.execute(f"PRAGMA synchronous={self._durability.upper()}")
        conn.execute("PRAGMA foreign_keys=ON")
        # Savepoints (one per unit of work, one per batched command) journal the original of
        # every page they change. Past 64 KiB that journal spilled to a temporary file: two
        # write system calls per page, 23 pages per payment created. In memory, a create's
        # SQL took 146 µs instead of 201 (bench/engine.py's statements, batches of 8).
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute(f"PRAGMA cache_size=-{self._cache_kib}")  # per connection, in KiB
        with self._all_lock:
            self._all.append(conn)
        return conn

    @property
    def durability(self) -> str:
        level = int(self._connection().execute("PRAGMA synchronous").fetchone()[0])
        return _SYNCHRONOUS[min(level, 2)]  # EXTRA (3) is full and more

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
        self._writer.acquire()
        try:
            yield
        finally:
            self._writer.release()

    def _batching(self) -> bool:
        return bool(getattr(self._local, "batch", False))

    @contextmanager
    def unit_of_work(self) -> Iterator[SqliteUnitOfWork]:
        with self._shared_lock or nullcontext(), self._writing(), translate_errors():
            conn = self._connection()
            if self._batching() or (
                self._group_max > 1
                and (conn.in_transaction or threading.get_ident() == self._group_thread)
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
            self._committed()

    def _grouped_unit(self, conn: sqlite3.Connection) -> Iterator[SqliteUnitOfWork]:
        batching = self._batching()
        if batching and self._local.lost:
            raise StorageError("The batch's transaction was lost")
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")
            self._grouped = 0
        conn.execute("SAVEPOINT unit")
        try:
            yield SqliteUnitOfWork(conn)
        except BaseException:
            if not conn.in_transaction:  # SQLite gave up the whole transaction
                self._local.lost = batching
                raise StorageError("The group transaction was lost") from None
            conn.execute("ROLLBACK TO unit")
            conn.execute("RELEASE unit")
            raise
        conn.execute("RELEASE unit")
        self._grouped += 1
        if not batching and self._grouped >= self._group_max:
            conn.execute("COMMIT")
            self._committed()

    @contextmanager
    def batch(self, tenant_ids: Collection[str] = ()) -> Iterator[WholeDatabase]:
        """The units of work this thread runs inside share one transaction, committed when
        the block ends, each in its own savepoint. The write lock is held throughout (so
        ``tenant_ids`` need no locks of their own). Raises ``StorageError`` if the
        transaction was lost or did not commit: then none of the batch's writes were kept,
        whatever its units returned."""
        with self._shared_lock or nullcontext(), self._writing(), translate_errors():
            conn = self._connection()
            if conn.in_transaction or self._batching():
                raise StorageError("A batch cannot start inside an open transaction")
            self._local.batch, self._local.lost = True, False
            try:
                yield WholeDatabase()
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                self._local.batch = False
            if self._local.lost:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StorageError("The batch's transaction was lost")
            if conn.in_transaction:
                try:
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                self._committed()

    def flush(self) -> None:
        """Commit this thread's open group transaction (``group_commit`` > 1), if any."""
        with self._shared_lock or nullcontext(), self._writing(), translate_errors():
            conn = self._connection()
            if conn.in_transaction:
                conn.execute("COMMIT")
                self._committed()

    def _committed(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.committed()

    def _checkpoint(self) -> None:
        """A PASSIVE checkpoint: copies what no reader still needs, never waits for a lock."""
        with translate_errors():
            self._connection().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

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

    @contextmanager
    def tables(self) -> Iterator[SqliteTables]:
        """The tables, read on this thread's connection with a smaller page cache (a
        reader such as DuckDB needs the memory more)."""
        with self._shared_lock or nullcontext(), translate_errors():
            conn = self._connection()
            conn.execute(f"PRAGMA cache_size=-{min(EXPORT_CACHE_KIB, self._cache_kib)}")
            conn.execute("PRAGMA shrink_memory")
            try:
                yield SqliteTables(conn)
            finally:
                conn.execute(f"PRAGMA cache_size=-{self._cache_kib}")

    def raw_connection(self) -> sqlite3.Connection:
        """This thread's connection, for analysis and for tests that play an attacker."""
        return self._connection()

    def close(self) -> None:
        if self._group_max > 1 and not self._closed:
            self.flush()
        self._release()

    def _release(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._closed = True
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        if self._writer is not None:
            self._writer.close()
