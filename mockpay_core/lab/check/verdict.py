"""The verdict every check returns, and the helpers the checks share."""

from __future__ import annotations

import math
from dataclasses import dataclass


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


def unanswered(what: str) -> Verdict:
    return Verdict(None, f"set `answer` to {what} and run this cell again.")


def near(value: float, target: float, factor: float) -> bool:
    return value > 0 and abs(math.log(value / target)) <= math.log(factor)
