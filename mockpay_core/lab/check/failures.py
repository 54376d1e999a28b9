"""Notebook 8's checks: each finds the truth by running the engine or the scenario."""

from __future__ import annotations

import tempfile

from mockpay_core.lab import failures, runs
from mockpay_core.lab.check.verdict import Verdict, unanswered


def lost_answer_payments(answer: int | None, retries: int = 3) -> Verdict:
    """Try this 1: payments created by one create whose answer is lost and ``retries``
    retries with the same key, with the idempotency layer off."""
    if answer is None:
        return unanswered("a number of payments")
    truth = failures.lost_answer(idempotency=False, retries=retries)["payments"]
    if answer == truth:
        return Verdict(True, "without the layer the key is only a string: each retry is"
                       " executed again, so each one charges.")  # fmt: skip
    if answer == 1:
        return Verdict(False, "one is what the layer buys when it is on. Here it is off:"
                       " what would recognise a retry?")  # fmt: skip
    return Verdict(False, "count the first request too, and ask which of them charge.")


def no_flapping_twice(answer: int | None) -> Verdict:
    """Try this 2: effects the naive receiver of ``06-flapping-receiver.yaml`` applies
    twice when it never fails (``error_rate: 0``)."""
    if answer is None:
        return unanswered("a number of events")
    receivers = [
        {"name": "flappy", "error_rate": 0.4, "processes_before_failing": True},
        {"name": "naive", "error_rate": 0.0, "processes_before_failing": True, "dedupe": False},
    ]
    with tempfile.TemporaryDirectory() as out:
        run = runs.play("06-flapping-receiver.yaml", out, name="steady", receivers=receivers,
                        expectations=[]).run_dir  # fmt: skip
        truth = failures.applied_twice(run, "naive-shop")
    if answer == truth:
        return Verdict(True, "a receiver that always answers 200 is never sent anything"
                       " twice, so not deduping costs it nothing: until the first 500, timeout"
                       " or crash, which no receiver can promise never to have.")  # fmt: skip
    return Verdict(False, "with no error the gateway has no reason to send anything again:"
                   " what makes a delivery arrive twice?")  # fmt: skip
