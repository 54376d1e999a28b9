"""What only the SQLite adapter has: migrations on open, WAL, busy errors, its indexes."""

from __future__ import annotations

import gc
import logging
import shutil
import sqlite3
import threading
import time
import weakref
from pathlib import Path

import pytest

from mockpay_core import Engine
from mockpay_core.errors import StorageBusy, StorageError
from mockpay_core.storage.sql.queries import COUNTED_SQL
from mockpay_core.storage.sqlite import SqliteStore
from mockpay_core.storage.sqlite.checkpoints import BACKSTOP_PAGES, CHECK_EVERY_S, Checkpointer
from mockpay_core.storage.sqlite.store import migrations


def test_migrations_apply_once_and_record_their_version(tmp_path: Path) -> None:
    path = str(tmp_path / "m.db")
    SqliteStore(path).close()
    SqliteStore(path).close()
    raw = sqlite3.connect(path)
    assert [v for (v,) in raw.execute("SELECT version FROM schema_migrations")] == [
        v for v, _ in migrations()
    ]
    assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_processes_opening_at_once_do_not_race(tmp_path: Path) -> None:
    path, errors = str(tmp_path / "race.db"), []

    def open_store() -> None:
        try:
            SqliteStore(path, busy_timeout_s=10).close()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_held_write_lock_becomes_storage_busy(tmp_path: Path) -> None:
    path = str(tmp_path / "busy.db")
    store = SqliteStore(path, busy_timeout_s=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageBusy) as info, store.unit_of_work() as uow:
            uow.set_meta("k", "v")
        assert info.value.code == "database_busy"
    finally:
        blocker.execute("ROLLBACK")
    with store.unit_of_work() as uow:
        uow.set_meta("k", "v")
    store.close()
    with pytest.raises(StorageError, match="closed"), store.reader():
        pass


def test_memory_stores_are_separate() -> None:
    a, b = SqliteStore(":memory:"), SqliteStore(":memory:")
    with a.unit_of_work() as uow:
        uow.set_meta("k", "a")
    with b.reader() as r:
        assert r.get_meta("k") is None


def test_window_indexes_exclude_exactly_what_the_engine_does_not_count() -> None:
    windows = dict(migrations())[3]
    assert windows.count(f"WHERE {COUNTED_SQL}") == 2


def test_the_window_queries_use_the_partial_index(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "plan.db"))
    from mockpay_core.storage.sql.queries import WINDOW_SQL as _WINDOW_SQL

    conn = store.raw_connection()
    for sql, params in [
        (f"SELECT count(*) {_WINDOW_SQL}", ("t", "2026")),
        (f"SELECT count(*) FROM (SELECT 1 {_WINDOW_SQL} LIMIT ?) AS w", ("t", "2026", 5)),
    ]:
        plan = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        assert "payments_window" in str(plan)


def test_bad_durability_is_refused() -> None:
    with pytest.raises(ValueError):
        SqliteStore(":memory:", durability="sometimes")  # type: ignore[arg-type]


def test_driver_errors_are_translated(tmp_path: Path) -> None:
    from mockpay_core.errors import AuditImmutable
    from mockpay_core.storage.sqlite.store import translate_errors

    store = SqliteStore(str(tmp_path / "t.db"))
    raw = store.raw_connection()
    raw.execute(
        "INSERT INTO audit_log VALUES ('a', 't', 'p', 1, NULL, 'pending', 'create', 'x', '{}',"
        " '2026', 'h0', 'h1')"
    )
    with pytest.raises(AuditImmutable) as immutable, translate_errors():
        raw.execute("DELETE FROM audit_log")
    assert immutable.value.code == "audit_immutable"
    with pytest.raises(StorageError) as other, translate_errors():
        raw.execute("SELECT * FROM no_such_table")
    assert type(other.value) is StorageError and "no_such_table" in other.value.message


def _pay(engine: Engine, tenant_id: str, key: str) -> None:
    engine.create_payment(
        tenant_id, amount=10, currency="USD", webhook_url="https://x.test/h", idempotency_key=key
    )


def _checkpoint_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "mockpay-checkpoint"}


def _rows_in_main_file(path: str, copy: Path) -> int:
    """Payments in the database file alone, as if its WAL were lost: what checkpoints wrote."""
    shutil.copyfile(path, copy)
    raw = sqlite3.connect(copy)
    try:
        return int(raw.execute("SELECT count(*) FROM payments").fetchone()[0])
    except sqlite3.OperationalError:  # not even the tables yet
        return 0
    finally:
        raw.close()


def test_a_background_thread_checkpoints_the_wal_outside_the_commits(tmp_path: Path) -> None:
    path, before = str(tmp_path / "c.db"), _checkpoint_threads()
    engine = Engine(SqliteStore(path))
    store = engine.store
    assert isinstance(store, SqliteStore)
    conn = store.raw_connection()
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (BACKSTOP_PAGES,)
    tenant = engine.register_tenant("ckpt", "ckpt@example.com").tenant
    for i in range(5):
        _pay(engine, tenant.id, f"k{i}")
    deadline = time.monotonic() + 10
    while _rows_in_main_file(path, tmp_path / "copy.db") < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _rows_in_main_file(path, tmp_path / "copy.db") == 5
    (thread,) = _checkpoint_threads() - before
    engine.close()
    assert not thread.is_alive()


def test_without_background_checkpoints_a_small_wal_stays_uncopied(tmp_path: Path) -> None:
    path, before = str(tmp_path / "n.db"), _checkpoint_threads()
    store = SqliteStore(path, background_checkpoints=False)
    engine = Engine(store)
    assert store.raw_connection().execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
    tenant = engine.register_tenant("none", "none@example.com").tenant
    for i in range(5):
        _pay(engine, tenant.id, f"k{i}")
    time.sleep(3 * CHECK_EVERY_S)
    assert _rows_in_main_file(path, tmp_path / "copy.db") == 0  # all still in the WAL
    assert _checkpoint_threads() <= before
    engine.close()


def test_memory_stores_start_no_checkpoint_thread() -> None:
    before = _checkpoint_threads()
    with Engine(SqliteStore(":memory:")) as engine:
        engine.register_tenant("mem", "mem@example.com")
        assert _checkpoint_threads() <= before


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_failed_checkpoint_is_logged_and_the_next_pass_still_runs() -> None:
    # A handler of its own: a server test may have stopped "mockpay" propagating to caplog's.
    records, logger = _Records(), logging.getLogger("mockpay.storage")
    logger.addHandler(records)
    calls: list[int] = []

    def checkpoint() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise StorageBusy("busy")

    checkpointer = Checkpointer(lambda: checkpoint, every_s=0.01)
    try:
        checkpointer.committed()
        deadline = time.monotonic() + 5
        while not calls and time.monotonic() < deadline:
            time.sleep(0.01)
        checkpointer.committed()
        while checkpointer.passes < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        checkpointer.close()
        logger.removeHandler(records)
    assert len(calls) == 2 and checkpointer.passes == 1
    assert records.messages == ["a WAL checkpoint failed: busy"]


def test_an_idle_store_does_not_checkpoint_again() -> None:
    calls: list[int] = []
    checkpointer = Checkpointer(lambda: lambda: calls.append(1), every_s=0.01)
    try:
        checkpointer.committed()
        deadline = time.monotonic() + 5
        while not calls and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # ten more wake-ups with nothing committed
    finally:
        checkpointer.close()
    assert calls == [1]


def test_a_store_nobody_closed_is_not_kept_alive_by_its_checkpoint_thread(
    tmp_path: Path,
) -> None:
    before = _checkpoint_threads()
    store = SqliteStore(str(tmp_path / "gc.db"))
    Engine(store).register_tenant("gc", "gc@example.com")
    (thread,) = _checkpoint_threads() - before
    gone = weakref.ref(store)
    del store
    deadline = time.monotonic() + 5
    gc.collect()
    while gone() is not None:  # a pass running at this moment holds it until it ends
        assert time.monotonic() < deadline, "the checkpoint thread kept its store alive"
        time.sleep(0.02)
        gc.collect()
    while thread.is_alive():
        assert time.monotonic() < deadline, "the checkpoint thread outlived its store"
        time.sleep(0.02)
