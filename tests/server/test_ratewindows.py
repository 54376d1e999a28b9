"""Rate-limit windows shared by processes (``SharedWindows``): one count per request across
every process that maps the file, windows that end, a table that never refuses."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.ratelimit import LocalWindows, SharedWindows

END_S, NOW_S = 1_800, 1_000.0  # a window that ends at 1,800 s, counted at 1,000 s


@pytest.fixture
def table(tmp_path: Path) -> Iterator[str]:
    path = SharedWindows.create(directory=str(tmp_path))
    yield path
    Path(path).unlink()


def test_two_mappings_count_one_window(table: str) -> None:
    a, b = SharedWindows(table), SharedWindows(table)  # as two processes: two descriptors
    try:
        assert [a.count("t1", END_S, NOW_S), b.count("t1", END_S, NOW_S)] == [1, 2]
        assert a.count("t2", END_S, NOW_S) == 1  # per tenant
        assert b.count("t1", END_S + 900, END_S + 1.0) == 1  # the next window starts again
        assert a.count("t1", END_S + 900, END_S + 2.0) == 2
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("windows", ["local", "shared"])
def test_local_and_shared_windows_agree(table: str, windows: str) -> None:
    w = LocalWindows() if windows == "local" else SharedWindows(table)
    counts = [
        w.count(f"t{i % 3}", END_S + 900 * (i // 9), NOW_S + 900 * (i // 9)) for i in range(18)
    ]
    assert counts == [1, 1, 1, 2, 2, 2, 3, 3, 3] * 2


def test_a_full_table_reuses_ended_windows_then_forgives_one(tmp_path: Path) -> None:
    path = SharedWindows.create(slots=4, directory=str(tmp_path))
    w = SharedWindows(path)
    try:
        for t in ("a", "b", "c", "d"):
            assert w.count(t, END_S, NOW_S) == 1
        assert w.count("a", END_S, NOW_S) == 2
        # all four windows still running: a fifth tenant takes a slot, forgiving its window
        assert w.count("e", END_S, NOW_S) == 1
        assert sum(w.count(t, END_S, NOW_S) == 1 for t in "abcd") == 1
        # once the windows have ended, their slots serve new tenants
        later_end, later = END_S + 900, END_S + 1.0
        assert [w.count(t, later_end, later) for t in ("f", "g", "f")] == [1, 1, 2]
    finally:
        w.close()


def test_a_file_that_is_no_table_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.touch()
    with pytest.raises(ValueError, match="not a table"):
        SharedWindows(str(empty))


PROCESSES, COUNTS = 3, 5_000


def _count_many(path: str, start: Any, out: multiprocessing.Queue[list[int]]) -> None:
    windows = SharedWindows(path)
    start.wait(timeout=60)
    out.put([windows.count("busy", END_S, NOW_S) for _ in range(COUNTS)])
    windows.close()


def test_processes_counting_at_once_lose_no_count(table: str) -> None:
    """Three processes count 5,000 requests each of one tenant at the same time: every
    count from 1 to 15,000 is handed out exactly once (without the flock, counts are lost)."""
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[list[int]] = ctx.Queue()
    start = ctx.Barrier(PROCESSES)
    procs = [ctx.Process(target=_count_many, args=(table, start, out)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    counts = [c for _ in procs for c in out.get(timeout=120)]
    for p in procs:
        p.join(timeout=30)
    assert sorted(counts) == list(range(1, PROCESSES * COUNTS + 1))
