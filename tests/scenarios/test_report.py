"""Progress bars: drawn through rich on a terminal, nothing at all otherwise."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime

import pytest
from rich.console import Console

from mockpay_core.scenarios import report

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _draw(terminal: bool, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal, raising=False)
    out = io.StringIO()
    with report.Progress(Console(file=out, force_terminal=terminal, width=100)) as progress:
        finished = progress.runs("3 scenarios on 2 workers", 3)
        requests = progress.requests("million")
        requests(10, 100, NOW)  # too few planned for a bar of its own
        requests(5_000, report.PROGRESS_FROM * 2, NOW)
        for _ in range(3):
            finished()
    return out.getvalue()


def test_bars_show_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = _draw(True, monkeypatch)
    assert "3 scenarios on 2 workers" in drawn
    assert "million" in drawn and "2026-01-01 00:00" in drawn


def test_nothing_is_drawn_when_not_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _draw(False, monkeypatch) == ""
