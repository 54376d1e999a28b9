"""What ``mockpay run`` prints: a summary per scenario, and progress bars on long runs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime

import rich.progress
from rich.console import Console

from mockpay_core.scenarios.run import ExpectationResult, RunResult

PROGRESS_FROM = 20_000  # requests planned before a bar is worth showing
RequestsProgress = Callable[[int, int, datetime], None]  # done, planned, simulated time


def _counts(counts: dict[str, int]) -> str:
    return " · ".join(f"{k} {v:,}" for k, v in counts.items()) or "none"


def failure_lines(e: ExpectationResult) -> list[str]:
    """What a failed expectation shows: its query, the expected and the actual value."""
    return [
        f"query:    {' '.join(e.spec.sql.split())}",
        f"expected: {e.spec.op} {e.spec.value!r}",
        f"actual:   {e.error or repr(e.actual)}",
    ]


def summary(result: RunResult) -> str:
    s, c = result.scenario, result.counts
    start, end = s.clock.start, result.simulated_end
    dead = c["deliveries"].get("dead", 0)
    lines = [
        f"{s.name} (seed {s.seed}): {result.wall_s:.2f} s, simulated {start:%Y-%m-%d %H:%M}"
        f" -> {end:%Y-%m-%d %H:%M}",
        f"  payments   {_counts(c['payments'])}",
        f"  fraud      {_counts(c['fraud'])}",
        f"  webhooks   {_counts(c['deliveries'])} (DLQ {dead:,})",
        f"  requests   {_counts(c['requests'])}",
    ]
    for e in result.expectations:
        lines.append(f"  {'PASS' if e.passed else 'FAIL'} {e.spec.name}")
        if not e.passed:
            lines += [f"       {line}" for line in failure_lines(e)]
    lines.append(f"  tables in {result.run_dir}/ (run.duckdb and Parquet)")
    return "\n".join(lines)


class Progress:
    """Progress bars through ``rich`` on stderr, shown only when stdout and stderr are both a
    terminal (so logs and pipes get the summaries alone): finished runs of a batch, and the
    requests of one long run. Use as a context manager."""

    def __init__(self, console: Console | None = None) -> None:
        console = console or Console(file=sys.stderr)
        shown = console.is_terminal and sys.stdout.isatty()
        self._bars = rich.progress.Progress(
            *rich.progress.Progress.get_default_columns(),
            rich.progress.TextColumn("{task.fields[at]}"),
            console=console, disable=not shown, transient=True,
        )  # fmt: skip

    def __enter__(self) -> Progress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def runs(self, label: str, total: int) -> Callable[[], None]:
        """A bar of ``total`` runs; call what it returns once per finished run."""
        task = self._bars.add_task(label, total=total, at="")
        return lambda: self._bars.advance(task)

    def requests(self, label: str) -> RequestsProgress:
        """What ``run_scenario(progress=...)`` calls: a bar once a run plans enough requests."""
        task: list[rich.progress.TaskID] = []

        def show(done: int, planned: int, now: datetime) -> None:
            if planned < PROGRESS_FROM:
                return
            if not task:
                task.append(self._bars.add_task(label, total=planned, at=""))
            self._bars.update(task[0], completed=done, total=planned, at=f"{now:%Y-%m-%d %H:%M}")

        return show
