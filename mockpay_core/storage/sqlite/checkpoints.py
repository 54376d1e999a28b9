"""WAL checkpoints on a thread of their own, outside the write lock.

SQLite's default has the writer whose COMMIT takes the WAL past 1,000 pages copy them back
into the database file and fsync both files, inside that COMMIT and so inside the write
lock that every other writer waits on. Measured (creates in batches of 3, one thread, a
file on ext4): those commits took 4 to 9 ms against a median of 0.1 ms, and 60 % of all
the time spent in COMMIT.

Here writers only append to the WAL. A ``Checkpointer`` thread wakes every
``CHECK_EVERY_S`` and, if anything was committed since its last pass, runs a PASSIVE
checkpoint on its own connection: it copies what no reader still needs, without taking
the write lock, so writers go on meanwhile. Writers still checkpoint themselves past
``BACKSTOP_PAGES`` (the ``wal_autocheckpoint`` of a store with this thread), should the
thread fall behind or a long read hold old pages.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Final

Target = Callable[[], Callable[[], None] | None]  # e.g. a weakref.WeakMethod

CHECK_EVERY_S: Final = 0.1
BACKSTOP_PAGES: Final = 10_000  # 40 MB of 4 KiB pages
log = logging.getLogger("mockpay.storage")


class Checkpointer:
    """Runs ``target()()`` on a daemon thread, started by the first ``committed()``, after
    commits; ``close()`` stops it, and so does ``target()`` returning None: given a
    ``weakref.WeakMethod``, the thread keeps no store alive that nobody closed."""

    def __init__(self, target: Target, every_s: float = CHECK_EVERY_S) -> None:
        self._target, self._every_s = target, every_s
        self._commits = 0  # only grows; read by the thread (a racy read costs one pass)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.passes = 0

    def committed(self) -> None:
        self._commits += 1
        if self._thread is None:
            with self._start_lock:
                if self._thread is None and not self._stop.is_set():
                    self._thread = threading.Thread(
                        target=self._loop, name="mockpay-checkpoint", daemon=True
                    )
                    self._thread.start()

    def _loop(self) -> None:
        seen = 0
        while not self._stop.wait(self._every_s):
            commits = self._commits
            if commits == seen:
                continue
            seen = commits
            checkpoint = self._target()
            if checkpoint is None:  # its store was collected
                return
            try:
                checkpoint()
                self.passes += 1
            except Exception as exc:  # the writers' backstop still bounds the WAL
                log.warning("a WAL checkpoint failed: %s", exc)
            del checkpoint

    def close(self, timeout_s: float = 10.0) -> None:
        with self._start_lock:
            self._stop.set()
            thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
