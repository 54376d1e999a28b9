"""What only the SQLite adapter has: migrations on open, WAL, busy errors, its indexes."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from mockpay_core.errors import StorageBusy, StorageError
from mockpay_core.storage.sqlite import SqliteStore
from mockpay_core.storage.sqlite.store import migrations
from mockpay_core.storage.sqlite.writer import COUNTED_SQL


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
    from mockpay_core.storage.sqlite.writer import _WINDOW_SQL

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
