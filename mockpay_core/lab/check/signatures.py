"""Notebook 6's checks."""

from __future__ import annotations

import math

from mockpay_core.lab.check.verdict import Verdict, near, unanswered


def blind_guesses(answer: int | float | None, leak_requests: int | None = None) -> Verdict:
    """Try this 2: how many guesses a blind search of a ``v1,`` signature
    needs on average; ``leak_requests`` is what the timing attack needed."""
    if answer is None:
        return unanswered("a number (Python's `**` helps)")
    compare = ""
    if leak_requests:
        compare = f" The leak needed {leak_requests:,}: about 10^{math.log10(leak_requests):.0f}."
    if near(answer, 2**255, 2.01):
        return Verdict(
            True,
            "a blind search cannot tell a nearly right guess from a wrong one, so it expects"
            f" to try half of all the HMAC's values: about 10^{255 * math.log10(2):.0f}.{compare}",
        )
    if any(near(answer, wrong, 2.01) for wrong in (64**44, 66**47, 64**47, 64**43)):
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
