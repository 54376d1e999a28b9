"""Notebook 7's check."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mockpay_core.lab.check.verdict import Verdict, unanswered


def busiest_hour(answer: int | None, payments_file: str | Path) -> Verdict:
    """Try this 1: the hour of the day (0-23, UTC) with the most payments in the file."""
    if answer is None:
        return unanswered("an hour of the day, 0 to 23")
    per_hour = (
        pl.read_parquet(payments_file)
        .group_by(hour=pl.col("created_at").dt.hour())
        .len()
        .sort("len", "hour", descending=[True, False])
    )
    if answer == per_hour["hour"][0]:
        return Verdict(True, "both engines agree on it. Did one of the two queries read more"
                       " naturally to you?")  # fmt: skip
    if answer not in per_hour["hour"].to_list():
        return Verdict(False, "that is not an hour of the day: extract the hour (0-23) from"
                       " `created_at`.")  # fmt: skip
    return Verdict(False, "count payments per hour of `created_at` and take the largest"
                   " count, not the first or the last hour.")  # fmt: skip
