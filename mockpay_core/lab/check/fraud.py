"""Notebook 3's checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
