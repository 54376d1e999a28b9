"""Faults a scenario injects: a crash inside a transaction, a busy database, audit tampering.

``FaultyStore`` wraps any store. Armed with ``crash_next``, the next unit of work does all
its writes and then dies before COMMIT (the transaction rolls back, as after a power cut);
armed with ``busy_next``, units of work are refused with ``StorageBusy`` before they begin.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager, contextmanager

from mockpay_core.errors import StorageBusy, StorageError
from mockpay_core.storage.protocol import BatchScope, Reader, Store, Tables, UnitOfWork


class SimulatedCrash(StorageError):
    code = "storage_error"


class FaultyStore:
    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self.crash_next = 0
        self.busy_next = 0
        self.crashes = 0

    def _take(self, attr: str) -> bool:
        with self._lock:
            left = getattr(self, attr)
            if left > 0:
                setattr(self, attr, left - 1)
                return True
            return False

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        if self._take("busy_next"):
            raise StorageBusy("The database is busy; try again (injected)")
        crash = self._take("crash_next")
        with self.inner.unit_of_work() as uow:
            yield uow
            if crash:
                self.crashes += 1
                raise SimulatedCrash("the process died before COMMIT (injected)")

    def reader(self) -> AbstractContextManager[Reader]:
        return self.inner.reader()

    @property
    def in_process(self) -> bool:
        return self.inner.in_process

    @property
    def durability(self) -> str:
        return self.inner.durability

    def batch(self, tenant_ids: Collection[str] = ()) -> AbstractContextManager[BatchScope]:
        return self.inner.batch(tenant_ids)

    def tables(self) -> AbstractContextManager[Tables]:
        return self.inner.tables()

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        self.inner.close()
