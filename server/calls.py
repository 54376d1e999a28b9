"""How a request runs the engine: on SQLite, commands batched on one writer thread and
reads on the event loop; on PostgreSQL, both on the thread pool.

SQLite writes one transaction at a time, and a COMMIT, which writes every page the
transaction touched to the WAL, cost more than the rest of a payment's creation
(bench/serve.py: about 280 of 860 µs). So on SQLite:

- ``write``: a command (units of work, no network) joins a queue; the process's one writer
  thread takes every command waiting, runs them in one transaction (``store.batch()``),
  each in its own savepoint so that a failed command undoes only its own writes, and
  answers them all after the COMMIT. Nobody hears of a write before it is durable. Requests
  that arrive together share a COMMIT, and the hand-off to the thread is paid per batch.
- ``read``: runs right on the event loop. A read of an indexed page (a payment, a page of
  ten) takes less CPU than a hand-off to a thread and back, and WAL readers never wait.

On PostgreSQL, calls wait on the network and concurrent transactions are the database's
job: both go to the thread pool.
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
from mockpay_core.storage.sqlite.store import SqliteStore

T = TypeVar("T")
BATCH_MAX: Final = 64  # commands per transaction; more would only lengthen the first's wait
IDLE_EXIT_S: Final = 30.0  # an idle writer ends (an app without lifespan never closes it)
log = logging.getLogger("mockpay.server")


@dataclass(slots=True)
class _Command:
    run: Callable[[Engine], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    value: Any = None
    error: BaseException | None = field(default=None)


class EngineCalls:
    """The engine, and the way this process runs its calls (see the module docstring)."""

    def __init__(
        self, engine: Engine, batch_max: int = BATCH_MAX, idle_exit_s: float = IDLE_EXIT_S
    ) -> None:
        self.engine = engine
        self._idle_exit_s = idle_exit_s
        store = engine.store
        self.batched = isinstance(store, SqliteStore)
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[_Command | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = self.commands = 0  # what the writer has done, for /api/admin/config

    async def write(self, run: Callable[[Engine], T]) -> T:
        """``run(engine)``: a command, answered once its writes are committed."""
        if not self.batched:
            return await to_thread.run_sync(run, self.engine)
        loop = asyncio.get_running_loop()
        command = _Command(run, loop, loop.create_future())
        self._queue.put(command)  # before the writer check: an idle writer ends only if empty
        self._ensure_writer()
        result: T = await command.future
        return result

    async def read(self, run: Callable[[Engine], T]) -> T:
        """``run(engine)``: a query (no writes)."""
        if not self.batched:
            return await to_thread.run_sync(run, self.engine)
        return run(self.engine)

    def close(self, timeout_s: float = 10.0) -> None:
        """Finish the queued commands and stop the writer thread."""
        with self._start_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._queue.put(None)
            writer.join(timeout_s)

    def _ensure_writer(self) -> None:
        if self._writer is None:
            with self._start_lock:
                if self._writer is None:
                    self._writer = threading.Thread(
                        target=self._write_loop, name="mockpay-writer", daemon=True
                    )
                    self._writer.start()

    def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self._idle_exit_s)
            except queue.Empty:
                with self._start_lock:
                    if self._queue.empty():
                        self._writer = None
                        return
                continue
            if first is None:
                return
            batch = [first]
            stopping = self._run(batch)
            self._answer(batch)

    def _run(self, batch: list[_Command]) -> bool:
        """Run ``batch`` and what has queued by the time the write lock is ours, in one
        transaction; True when a stop was queued among them."""
        store = self.engine.store
        assert isinstance(store, SqliteStore)
        stopping = False
        try:
            with store.batch():
                # Only now: what queued while another process held the lock joins this
                # COMMIT (taken before the wait, batches stayed at one or two commands).
                stopping = self._take_queued(batch)
                for command in batch:
                    try:
                        command.value = command.run(self.engine)
                    except BaseException as exc:  # this command's answer; the others go on
                        command.error = exc
        except BaseException as exc:  # nothing of the batch was committed
            log.warning("a batch of %d commands failed: %s", len(batch), exc)
            for command in batch:
                command.value, command.error = None, exc
        self.batches += 1
        self.commands += len(batch)
        return stopping

    def _take_queued(self, batch: list[_Command]) -> bool:
        while len(batch) < self._batch_max:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                return False
            if more is None:
                return True
            batch.append(more)
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
