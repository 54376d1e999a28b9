"""``SqliteStore.batch()`` and the write lock shared by threads and processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mockpay_core import Engine, EngineConfig, SeededIds, SimulatedClock
from mockpay_core.errors import StorageError, ValidationError
from mockpay_core.storage.sqlite import SqliteStore

HOOK = "http://127.0.0.1:4000/hooks"


def engine_on(path: Path, seed: int = 5) -> tuple[Engine, SqliteStore]:
    store = SqliteStore(str(path))
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))
    config = EngineConfig(seed_default_fraud_rules=False)
    return Engine(store, clock=clock, ids=SeededIds(seed), config=config), store


def committed(path: Path) -> int:
    with sqlite3.connect(path) as outside:
        return int(outside.execute("SELECT count(*) FROM payments").fetchone()[0])


def create(engine: Engine, tenant_id: str, key: str, amount: object = 10) -> str:
    out = engine.create_payment(
        tenant_id, amount=amount, currency="USD", webhook_url=HOOK, idempotency_key=key
    )
    return out.value.id


def test_a_batch_commits_when_it_ends_and_a_failed_unit_undoes_only_itself(
    tmp_path: Path,
) -> None:
    db = tmp_path / "b.db"
    engine, store = engine_on(db)
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    with store.batch():
        first = create(engine, tenant.id, "k1")
        with pytest.raises(ValidationError):
            create(engine, tenant.id, "bad", amount=-5)
        with pytest.raises(RuntimeError), store.unit_of_work():
            store.raw_connection().execute("UPDATE tenants SET name = 'Changed'")
            raise RuntimeError("this unit fails after writing")
        create(engine, tenant.id, "k2")
        assert engine.get_payment(tenant.id, first).id == first  # its own writes, uncommitted
        assert committed(db) == 0
    assert committed(db) == 2
    assert engine.get_tenant(tenant.id).name == "Acme"
    replay = engine.create_payment(
        tenant.id, amount=10, currency="USD", webhook_url=HOOK, idempotency_key="k1"
    )
    assert (replay.replayed, replay.value.id) == (True, first)
    store.close()


def test_an_error_out_of_the_block_rolls_the_whole_batch_back(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    engine, store = engine_on(db)
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    with pytest.raises(KeyError), store.batch():
        create(engine, tenant.id, "k1")
        raise KeyError("the caller gave up")
    assert committed(db) == 0
    create(engine, tenant.id, "k1")  # the store still works, one transaction per unit
    assert committed(db) == 1
    with (
        store.batch(),
        pytest.raises(StorageError, match="inside an open transaction"),
        store.batch(),
    ):
        pass
    store.close()


def test_other_threads_wait_for_a_batch_then_write(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    engine, store = engine_on(db)
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    other_done = threading.Event()

    def other() -> None:
        create(engine, tenant.id, "from-another-thread")
        other_done.set()

    with store.batch():
        create(engine, tenant.id, "k1")
        thread = threading.Thread(target=other)
        thread.start()
        assert not other_done.wait(0.3)  # it queues on the write lock, not on SQLite's
    thread.join(10)
    assert other_done.is_set() and committed(db) == 2
    store.close()


def _writer(db: str, tenant_id: str, prefix: str, count: int, start: object) -> None:
    engine, store = engine_on(Path(db), seed=100 + int(prefix[1:]))
    start.wait()  # type: ignore[attr-defined]
    for i in range(count):
        with store.batch():
            create(engine, tenant_id, f"{prefix}-{i}")
            create(engine, tenant_id, f"{prefix}-{i}-second")
    store.close()


def test_processes_take_turns_on_the_lock_file_and_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "procs.db"
    engine, store = engine_on(db)
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    store.close()
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Event()
    procs = [
        spawn.Process(target=_writer, args=(str(db), tenant.id, f"p{n}", 150, start))
        for n in range(3)
    ]
    for proc in procs:
        proc.start()
    start.set()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0, 0, 0]  # no StorageBusy anywhere
    assert committed(db) == 3 * 150 * 2
    assert (tmp_path / "procs.db-lock").exists()


def _one_payment(db: str, tenant_id: str) -> None:
    engine, store = engine_on(Path(db), seed=99)
    create(engine, tenant_id, "from-another-process")
    store.close()


def test_another_process_waits_on_the_lock_file_not_on_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "wait.db"
    engine, store = engine_on(db)
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    spawn = multiprocessing.get_context("spawn")
    with store.batch():  # holds the write lock; SQLite's own is not taken until a write
        child = spawn.Process(target=_one_payment, args=(str(db), tenant.id))
        child.start()
        child.join(3.0)  # time enough to start and write, were it not waiting
        assert child.is_alive() and committed(db) == 0
    child.join(60)
    assert child.exitcode == 0 and committed(db) == 1
    store.close()


def _sqlite_temp_files() -> list[str]:
    fds = Path("/proc/self/fd")
    targets = []
    for fd in fds.iterdir():
        try:
            targets.append(str(fd.readlink()))
        except OSError:  # closed meanwhile
            continue
    return [t for t in targets if "etilqs_" in t]  # SQLite's temporary files


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux's /proc")
def test_savepoint_journals_stay_in_memory(tmp_path: Path) -> None:
    """A create changes about 23 pages inside its savepoints; on disk, their journal cost
    two write system calls per page."""
    engine, store = engine_on(tmp_path / "m.db")
    tenant_id = engine.register_tenant("T", "t@x.test").tenant.id
    with store.batch():
        for i in range(20):
            create(engine, tenant_id, f"k{i}")
        assert _sqlite_temp_files() == []
    assert committed(tmp_path / "m.db") == 20
    store.close()
