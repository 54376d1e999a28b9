"""Notebook 3's checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from mockpay_core.lab import fraud_seeds
from mockpay_core.lab.check.verdict import Verdict, unanswered


def cheapest_rule_set(
    answer: str | None, scored_at_share: Mapping[str, Mapping[str, Any]]
) -> Verdict:
    """Try this 1: the learner's prediction of the cheapest rule set at a new
    ``fp_cost_share``; ``scored_at_share`` maps each candidate to its score at that share
    (``fraud.table(...).rows_by_key("candidate", named=True, unique=True)``)."""
    if answer is None:
        return unanswered("the name of a rule set, as in the table's `candidate` column")
    if answer not in scored_at_share:
        return Verdict(
            False, f"{answer!r} is not one of the candidates: copy a name from the table."
        )
    best = min(scored_at_share, key=lambda name: scored_at_share[name]["total_cost"])
    row = scored_at_share[answer]
    if answer == best or row["total_cost"] == scored_at_share[best]["total_cost"]:
        return Verdict(
            True,
            "its bill is all missed fraud and no stopped honest payment, so the share, which"
            " prices only stopped honest payments, cannot move it.",
        )
    if row["false_positives"]:
        return Verdict(
            False,
            f"{answer!r} stops {row['false_positives']} honest payments, and at this share each"
            " costs more than before. Which candidates' bills does the share not touch?",
        )
    return Verdict(
        False,
        f"{answer!r} stops no honest payment, so the share leaves it where it was, and it was"
        " not the cheapest before either: compare what each candidate lets through.",
    )


def cheapest_threshold(answer: int | None, runs: pl.DataFrame, fp_cost_share: float) -> Verdict:
    """Try this 4: the learner's threshold with the lowest mean cost over the seeds of
    ``runs`` (as from ``fraud_seeds.velocity_sweep``), priced at ``fp_cost_share``."""
    if answer is None:
        return unanswered("a threshold, one of those in the sweep's `threshold` column")
    per = fraud_seeds.summary(fraud_seeds.costs(runs, fp_cost_share))
    if answer not in per["threshold"].to_list():
        return Verdict(False, f"{answer!r} is not one of the thresholds swept: pick one of them.")
    found = fraud_seeds.verdict(per)
    if answer != found["best"]["threshold"]:
        mine = per.filter(pl.col("threshold") == answer)["mean"].item()
        return Verdict(
            False,
            f"at this share, threshold {answer} costs {mine:,.2f} on average, and another costs"
            " less. Weigh what each threshold lets through against the regulars it stops, each"
            " now priced at this share.",
        )
    wins, seeds = found["cheapest_in"], found["seeds"]
    overlap = (
        "its interval overlaps the next one's: with so few seeds the means alone do not"
        " settle it, more seeds would narrow both"
        if found["overlap"]
        else "its interval is clear of the next one's"
    )
    return Verdict(True, f"it is cheapest in {wins} of {seeds} seeds, and {overlap}.")
