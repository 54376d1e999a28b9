"""How a request runs the engine: commands batched on one writer thread per process, on
every database; reads on the event loop when the database is in the process (SQLite), on
the thread pool when each costs a round trip (PostgreSQL).

A COMMIT costs more than the rest of a payment's creation: SQLite writes every page the
transaction touched to the WAL (bench/serve.py: about 280 of 860 µs), PostgreSQL waits for
its WAL flush, and on both the tenant's fraud windows and audit chain are locked until it
is done. So:

- ``write``: a command (units of work, no network) for a tenant joins a queue; the
  process's writer thread takes every command waiting, runs them in one transaction
  (``store.batch()``, which locks their tenants first, in one order), each in its own
  savepoint so that a failed command undoes only its own writes, and answers them all
  after the COMMIT. Nobody hears of a write before it is durable. Requests that arrive
  together share a COMMIT, and the hand-off to the thread is paid per batch. A batch
  that is lost as a whole (``BatchLost``: nothing of it committed, and no one command
  can be blamed) runs again, each command in a batch of its own.
- ``read``: on SQLite, right on the event loop: a read of an indexed page (a payment, a
  page of ten) takes less CPU than a hand-off to a thread and back, and WAL readers never
  wait. On PostgreSQL a read waits on the network: the thread pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from anyio import to_thread

from mockpay_core import Engine
from mockpay_core.errors import BatchLost
from mockpay_core.storage.protocol import BatchScope

T = TypeVar("T")
BATCH_MAX: Final = 64  # commands per transaction; more would only lengthen the first's wait
IDLE_EXIT_S: Final = 30.0  # an idle writer ends (an app without lifespan never closes it)
log = logging.getLogger("mockpay.server")


@dataclass(slots=True)
class _Command:
    run: Callable[[Engine], Any]
    tenant_id: str | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    value: Any = None
    error: BaseException | None = field(default=None)


class EngineCalls:
    """The engine, and the way this process runs its calls (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        batch_max: int = BATCH_MAX,
        idle_exit_s: float = IDLE_EXIT_S,
        writers: int = 1,
    ) -> None:
        """``writers``: writer threads (each runs its own batches)."""
        self.engine = engine
        self.writers = writers
        self._idle_exit_s = idle_exit_s
        self._inline_reads = engine.store.in_process
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[_Command | None] = queue.SimpleQueue()
        self._writers: set[threading.Thread] = set()
        self._start_lock = threading.Lock()
        self.batches = self.commands = 0  # what the writer has done, for /api/admin/config

    async def write(self, run: Callable[[Engine], T], tenant_id: str | None) -> T:
        """``run(engine)``: a command on ``tenant_id``'s data (None: no tenant's yet, as a
        registration), answered once its writes are committed."""
        loop = asyncio.get_running_loop()
        command = _Command(run, tenant_id, loop, loop.create_future())
        self._queue.put(command)  # before the writer check: an idle writer ends only if empty
        self._ensure_writer()
        result: T = await command.future
        return result

    async def read(self, run: Callable[[Engine], T]) -> T:
        """``run(engine)``: a query (no writes)."""
        if not self._inline_reads:
            return await to_thread.run_sync(run, self.engine)
        return run(self.engine)

    def close(self, timeout_s: float = 10.0) -> None:
        """Finish the queued commands and stop the writer thread."""
        with self._start_lock:
            writers, self._writers = self._writers, set()
        for _ in writers:
            self._queue.put(None)
        for writer in writers:
            writer.join(timeout_s)

    def _ensure_writer(self) -> None:
        if len(self._writers) < self.writers:
            with self._start_lock:
                if len(self._writers) < self.writers:
                    writer = threading.Thread(
                        target=self._write_loop, name="mockpay-writer", daemon=True
                    )
                    self._writers.add(writer)
                    writer.start()

    def _write_loop(self) -> None:
        waiting: list[_Command] = []  # taken from the queue, for tenants a batch did not hold
        stopping = False
        while not stopping or waiting:
            if not waiting:
                try:
                    first = self._queue.get(timeout=self._idle_exit_s)
                except queue.Empty:
                    with self._start_lock:
                        if self._queue.empty():
                            self._writers.discard(threading.current_thread())
                            return
                    continue
                if first is None:
                    return
                waiting.append(first)
            batch, waiting = waiting[: self._batch_max], waiting[self._batch_max :]
            stopping = self._run(batch, waiting) or stopping
            self._answer(batch)

    def _run(self, batch: list[_Command], waiting: list[_Command] | None) -> bool:
        """Run ``batch`` and what has queued by the time its locks are ours (unless
        ``waiting`` is None), in one transaction; True when a stop was queued among them."""
        stopping = False
        tenants = {c.tenant_id for c in batch if c.tenant_id is not None}
        try:
            with self.engine.store.batch(tenants) as held:
                # Only now: what queued while another process held the lock joins this
                # COMMIT (taken before the wait, batches stayed at one or two commands),
                # if the batch holds its tenant; the rest waits for the next batch.
                if waiting is not None:
                    stopping = self._take_queued(batch, waiting, held)
                for command in batch:
                    command.value, command.error = None, None
                    try:
                        command.value = command.run(self.engine)
                    except BaseException as exc:  # this command's answer; the others go on
                        command.error = exc
        except BatchLost as exc:
            self._lost(batch, exc)
        except BaseException as exc:  # nothing of the batch was committed
            log.warning("a batch of %d commands failed: %s", len(batch), exc)
            for command in batch:
                command.value, command.error = None, exc
        self.batches += 1
        self.commands += len(batch)
        return stopping

    def _lost(self, batch: list[_Command], exc: BatchLost) -> None:
        if len(batch) == 1:  # its own error, if it raised one, says more
            batch[0].value, batch[0].error = None, batch[0].error or exc
            return
        log.warning("a batch of %d commands was lost (%s): each runs again", len(batch), exc)
        for command in batch:
            self._run([command], None)

    def _take_queued(
        self, batch: list[_Command], waiting: list[_Command], held: BatchScope
    ) -> bool:
        while len(batch) < self._batch_max:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                return False
            if more is None:
                return True
            (batch if held.holds(more.tenant_id) else waiting).append(more)
        return False

    @staticmethod
    def _answer(batch: list[_Command]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Command]] = {}
        for command in batch:
            by_loop.setdefault(command.loop, []).append(command)
        for loop, commands in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_settle, commands)


def _settle(commands: list[_Command]) -> None:
    for command in commands:
        if command.future.cancelled():  # the client went away; the command still ran
            continue
        if command.error is not None:
            command.future.set_exception(command.error)
        else:
            command.future.set_result(command.value)
