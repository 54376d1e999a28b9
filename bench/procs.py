"""What only the benchmarks need from processes: CPU seconds, from Linux's /proc.

Starting and stopping servers is ``server.testing``'s (``serving``, ``stop_process``).
"""

import contextlib
import os
from collections.abc import Iterable


def _ticks(pid: int) -> int:
    """utime + stime of ``pid`` in clock ticks (fields 14 and 15 of /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        fields = f.read().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def cpu_s(pid: int) -> float | None:
    """CPU seconds used so far by ``pid`` and its child processes (None without /proc)."""
    if not os.path.exists("/proc/self/stat"):
        return None
    ticks, todo = 0, [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):
            ticks += _ticks(p)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children", encoding="ascii") as f:
                    todo += [int(c) for c in f.read().split()]
    return ticks / os.sysconf("SC_CLK_TCK")


def ticks_of(pids: Iterable[int]) -> dict[int, int] | None:
    """CPU ticks so far of each of ``pids`` that still runs, by pid (None without /proc):
    e.g. the PostgreSQL backends serving a server, by their pids in pg_stat_activity."""
    if not os.path.exists("/proc/self/stat"):
        return None
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            found[pid] = _ticks(pid)
    return found


def backend_cpu_s(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU seconds spent between two ``ticks_of`` a changing set of processes: one that
    started in between counts whole, one that ended in between is lost (as a pooled
    database connection's backend seldom does)."""
    ticks = sum(t - before.get(pid, 0) for pid, t in after.items())
    return ticks / os.sysconf("SC_CLK_TCK")
