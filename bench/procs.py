"""What only the benchmarks need from processes: CPU seconds, from Linux's /proc.

Starting and stopping servers is ``server.testing``'s (``serving``, ``stop_process``).
"""

import contextlib
import os


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


def is_backend(cmdline: str, user: str, database: str) -> bool:
    """Whether a process's command line is a PostgreSQL backend of ``user`` on ``database``:
    ``postgres: [cluster: ]user database host(port) state`` (the server sets its title)."""
    if not cmdline.startswith("postgres:"):
        return False
    words = cmdline.replace(":", " ").split()
    return any(words[i : i + 2] == [user, database] for i in range(1, len(words) - 1))


def backend_ticks(user: str, database: str) -> dict[int, int] | None:
    """CPU ticks so far of each PostgreSQL backend process serving ``user`` on ``database``
    on this machine, by pid (None without /proc)."""
    if not os.path.exists("/proc/self/stat"):
        return None
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            if is_backend(cmdline, user, database):
                found[int(name)] = _ticks(int(name))
    return found


def backend_cpu_s(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU seconds the backends spent between two ``backend_ticks``: a backend that started
    in between counts whole, one that ended in between is lost (the servers keep a pool)."""
    ticks = sum(t - before.get(pid, 0) for pid, t in after.items())
    return ticks / os.sysconf("SC_CLK_TCK")
