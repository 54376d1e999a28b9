"""What ``mockpay run`` prints: a summary per scenario, and a progress bar on long runs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from mockpay_core.scenarios.run import RunResult

BAR_WIDTH = 30
PROGRESS_FROM = 20_000  # requests planned before a bar is worth showing


def _counts(counts: dict[str, int]) -> str:
    return " · ".join(f"{k} {v:,}" for k, v in counts.items()) or "none"


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
            lines.append(f"       query:    {' '.join(e.spec.sql.split())}")
            lines.append(f"       expected: {e.spec.op} {e.spec.value!r}")
            lines.append(f"       actual:   {e.error or repr(e.actual)}")
    lines.append(f"  tables in {result.run_dir}/ (run.duckdb and Parquet)")
    return "\n".join(lines)


def progress_bar(stream: TextIO = sys.stderr) -> Callable[[int, int, datetime], None]:
    def show(done: int, planned: int, now: datetime) -> None:
        if planned < PROGRESS_FROM or not stream.isatty():
            return
        share = min(done / planned, 1.0)
        filled = int(share * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        stream.write(f"\r  [{bar}] {share:4.0%} {done:,}/{planned:,} at {now:%Y-%m-%d %H:%M:%S}")
        if done >= planned:
            stream.write("\n")
        stream.flush()

    return show
