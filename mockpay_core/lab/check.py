"""Checks for the notebooks' "Try this" exercises: each says right or not yet, and why,
without giving the answer away.

A check takes the learner's answer (a number, a name, a choice) and returns a ``Verdict``,
which a notebook displays as one line of Markdown. ``None`` means "not answered yet".
Checks that need the experiment's result take it as an argument, so they judge the
learner's own run, not a number typed here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Verdict:
    """``right`` is None while the exercise is unanswered."""

    right: bool | None
    why: str

    def __str__(self) -> str:
        head = {True: "Right", False: "Not yet", None: "No answer yet"}[self.right]
        return f"{head}: {self.why}"

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        head = {True: "✅ **Right**", False: "❌ **Not yet**", None: "✍️ **No answer yet**"}
        return f"{head[self.right]}: {self.why}"


def _unanswered(what: str) -> Verdict:
    return Verdict(None, f"set `answer` to {what} and run this cell again.")


def _near(value: float, target: float, factor: float) -> bool:
    return value > 0 and abs(math.log(value / target)) <= math.log(factor)


def blind_guesses(answer: int | float | None, leak_requests: int | None = None) -> Verdict:
    """Notebook 6, "Try this" 2: how many guesses a blind search of a ``v1,`` signature
    needs on average; ``leak_requests`` is what the timing attack needed."""
    if answer is None:
        return _unanswered("a number (Python's `**` helps)")
    compare = ""
    if leak_requests:
        compare = f" The leak needed {leak_requests:,}: about 10^{math.log10(leak_requests):.0f}."
    if _near(answer, 2**255, 2.01):
        return Verdict(
            True,
            "a blind search cannot tell a nearly right guess from a wrong one, so it expects"
            f" to try half of all the HMAC's values: about 10^{255 * math.log10(2):.0f}.{compare}",
        )
    if any(_near(answer, wrong, 2.01) for wrong in (64**44, 66**47, 64**47, 64**43)):
        return Verdict(
            False,
            "you counted strings, not signatures. Which of the 47 characters are the same in"
            " every signature, and how many bits does an HMAC-SHA256 really hold?",
        )
    if answer < 2**64:
        return Verdict(
            False,
            "that is the scale of an attack that learns something from every refusal. A"
            " blind search learns only yes or no: what must it try?",
        )
    return Verdict(
        False,
        "count the values the secret part can take (its bits), then ask how many a search"
        " expects to try before it hits the right one.",
    )


def cheapest_rule_set(
    answer: str | None, scored_at_share: Mapping[str, Mapping[str, Any]]
) -> Verdict:
    """Notebook 3, "Try this" 1: the learner's prediction of the cheapest rule set at a new
    ``fp_cost_share``; ``scored_at_share`` maps each candidate to its score at that share
    (``fraud.table(...).rows_by_key("candidate", named=True, unique=True)``)."""
    if answer is None:
        return _unanswered("the name of a rule set, as in the table's `candidate` column")
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
