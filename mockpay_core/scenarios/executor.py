"""Where many runs go: this process, local processes, or a Dask distributed cluster.

One interface for ``mockpay run -j N`` and ``mockpay sweep``: ``submit(fn, tasks)`` yields a
``Done`` per task as each finishes (in any order; callers put them back in task order). A
task that raises becomes a ``Done`` with its error, and the others still finish. ``fn`` and
each task must be picklable (a module-level function, plain data): they are shipped to
another process, or to another machine by Dask, which does the placement, retries work lost
with a worker, and keeps its own progress dashboard. Nothing here schedules by hand.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")

JOBS_MAX = 256


@dataclass(frozen=True)
class Done(Generic[R]):
    """One finished task: its position in the task list, and its value or its error."""

    index: int
    value: R | None = None
    error: str | None = None
    error_type: str | None = None


Outcome = tuple[R | None, str | None, str | None]  # value, error message, error type's name


def guarded(fn: Callable[[T], R], task: T) -> Outcome[R]:
    """Run ``fn(task)``; an exception comes back as its message and its type's name."""
    try:
        return fn(task), None, None
    except Exception as exc:  # the run's failure is data for the caller, not the pool's
        return None, str(exc) or repr(exc), type(exc).__name__


class Executor(Protocol):
    """Runs tasks somewhere; ``workers`` says how many at once, for progress and splitting."""

    workers: int

    def submit(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[Done[R]]: ...

    def close(self) -> None: ...


class InProcess:
    """Task after task in this process (``-j 1``): no pickling, tracebacks stay local."""

    workers = 1

    def submit(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[Done[R]]:
        for index, task in enumerate(tasks):
            yield Done(index, *guarded(fn, task))

    def close(self) -> None:
        pass


class LocalProcesses:
    """``jobs`` worker processes on this machine, started fresh (``spawn``: no inherited
    threads or open database connections)."""

    def __init__(self, jobs: int) -> None:
        self.workers = jobs
        self._pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[Done[R]]:
        futures: dict[Future[Outcome[R]], int] = {
            self._pool.submit(guarded, fn, task): i for i, task in enumerate(tasks)
        }
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as exc:  # the worker process itself died (killed, out of memory)
                outcome = None, f"worker process lost: {exc}", type(exc).__name__
            yield Done(futures[future], *outcome)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


class DaskCluster:
    """A Dask distributed scheduler at ``address`` (``tcp://host:8786``); its workers need
    this package installed."""

    def __init__(self, address: str) -> None:
        try:
            self._dask: Any = importlib.import_module("distributed")
        except ImportError:
            raise ValueError("--cluster needs Dask: pip install 'mockpay-lab[cluster]'") from None
        try:
            self._client: Any = self._dask.Client(address, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"no Dask scheduler at {address}: {exc}") from None
        self.workers = max(1, len(self._client.scheduler_info()["workers"]))

    def submit(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[Done[R]]:
        futures = [self._client.submit(guarded, fn, task, pure=False) for task in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        for future in self._dask.as_completed(futures, loop=self._client.loop):
            try:
                outcome = future.result()
            except Exception as exc:  # lost past Dask's own retries
                outcome = None, f"Dask task failed: {exc}", type(exc).__name__
            yield Done(index[future.key], *outcome)

    def close(self) -> None:
        self._client.close()


def open_executor(jobs: int | None = None, cluster: str | None = None) -> Executor:
    """The Dask scheduler at ``cluster`` if given; else ``jobs`` local processes (default:
    the CPU count); one job runs in this process."""
    if cluster:
        return DaskCluster(cluster)
    jobs = jobs if jobs is not None else (os.cpu_count() or 1)
    if not 1 <= jobs <= JOBS_MAX:
        raise ValueError(f"-j: between 1 and {JOBS_MAX} processes, not {jobs}")
    return InProcess() if jobs == 1 else LocalProcesses(jobs)


def in_order(done: Iterator[Done[R]]) -> Iterator[Done[R]]:
    """Finished tasks back in task order, each as soon as all before it are done."""
    waiting: dict[int, Done[R]] = {}
    following = 0
    for d in done:
        waiting[d.index] = d
        while following in waiting:
            yield waiting.pop(following)
            following += 1
