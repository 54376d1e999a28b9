"""Notebook 4's checks."""

from __future__ import annotations

from mockpay_core.domain.retry import STANDARD_WEBHOOKS
from mockpay_core.lab.check.verdict import Verdict, unanswered


def long_outage(answer: bool | None, outage_h: float = 30.0) -> Verdict:
    """Try this 1: does the Standard Webhooks schedule deliver every event through an
    outage of ``outage_h`` hours? (True or False.)"""
    if answer is None:
        return unanswered("True or False")
    # the jitter is symmetric, so over seven delays an event's last try is about their sum
    last_try_h = sum(STANDARD_WEBHOOKS.delays_s) / 3600
    delivers_all = last_try_h >= outage_h
    if answer is delivers_all:
        why = (
            "an event sent as the outage begins has its last attempt before the receiver is"
            " back, so it goes to the dead-letter queue and waits for a replay."
            if not delivers_all
            else "even an event sent as the outage begins is still being retried when the"
            " receiver is back."
        )
        return Verdict(True, why)
    return Verdict(False, "add up the schedule's delays (`STANDARD_WEBHOOKS.delays_s` in"
                   " `mockpay_core/domain/retry.py`): how long after its first attempt is an"
                   " event's last?")  # fmt: skip
