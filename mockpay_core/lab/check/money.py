"""Notebook 9's checks: each finds the truth by running the engine or the scenario."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable

from mockpay_core import analysis
from mockpay_core.lab import money, runs
from mockpay_core.lab.check.verdict import Verdict, unanswered


def storm_successes(answer: int | None, refunds: int = 30, amount: float = 4.0) -> Verdict:
    """Try this 1: how many of ``refunds`` concurrent refunds of ``amount`` on the
    storm's captured 100.00 succeed (the check plays the storm with those numbers)."""
    if answer is None:
        return unanswered("a number of refunds")
    steps = [
        {"at": "0s", "do": "create", "tenant": "shop", "key": "order-9", "amount": 100},
        {"at": "1s", "do": "simulate", "tenant": "shop", "payment": "order-9", "key": "paid"},
        {"at": "60s", "do": "refund", "tenant": "shop", "payment": "order-9", "key": "storm",
         "amount": amount, "repeat": refunds, "concurrency": refunds, "vary_key": True},
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as out:
        run = runs.play("07-refund-storm.yaml", out, name="storm-try", steps=steps,
                        expectations=[]).run_dir  # fmt: skip
        truth = int(analysis.query(run, "SELECT count(*) FROM client_requests WHERE"
                                   " key LIKE 'storm-%' AND ok").item())  # fmt: skip
    if answer == truth:
        return Verdict(True, "every refund reads what may still go back and writes its own"
                       " share under one lock, in one transaction: they succeed while money"
                       " is left, one at a time, and the rest are refused.")  # fmt: skip
    if answer == refunds:
        return Verdict(False, "that would refund more than was captured. What does each"
                       " refund check before it commits?")  # fmt: skip
    return Verdict(False, "how many times does the amount fit into what was captured?")


def jpy_accepted(
    answer: Iterable[object] | None, offered: Iterable[object] = (500, 500.0, 499.5)
) -> Verdict:
    """Try this 2: which of ``offered`` the engine accepts as a JPY amount (the answer is
    the accepted ones, e.g. ``{500}``)."""
    if answer is None:
        return unanswered("the set of amounts accepted, e.g. `{1, 2}`")
    truth = {a for a in offered if money.minor_units(a, "JPY")["refused"] is None}
    if set(answer) == truth:
        return Verdict(True, "the yen has no minor unit, so an amount is whole yen or it is"
                       " refused, never rounded: 500.0 is the number 500, and 499.5 needs half a"
                       " yen the currency cannot hold.")  # fmt: skip
    return Verdict(False, "how many decimal places does JPY have (`CURRENCY_EXPONENTS`)? Is"
                   " a number with a zero fraction a different number?")  # fmt: skip
