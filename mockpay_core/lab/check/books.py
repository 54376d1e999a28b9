"""Notebook 10's checks: each finds the truth by running the engine."""

from __future__ import annotations

from mockpay_core.domain.reconcile import WRONG
from mockpay_core.lab import books
from mockpay_core.lab.check.verdict import Verdict, unanswered


def fee_on(answer: int | None, captured_minor: int = 1017) -> Verdict:
    """Try this 1: the fee, in cents, on a capture of ``captured_minor`` cents."""
    if answer is None:
        return unanswered("a number of cents")
    (row,) = books.fee_rows([captured_minor])
    truth = int(row["fee_minor"])
    if answer == truth:
        return Verdict(True, f"2.9 % of it is {row['percent_exact']:g} cents, rounded half up"
                       " to a whole cent, then the fixed 30 cents: the fee is an integer of"
                       " cents from the start, never a float to round later.")  # fmt: skip
    if answer == truth + 1 or answer == truth - 1:
        return Verdict(False, "one cent off: which way does the percentage round, and before"
                       " or after the fixed part is added?")  # fmt: skip
    return Verdict(False, "the default schedule is 2.9 % of the capture plus 30 cents.")


def first_payout(answer: int | None, settlement_delay_days: float = 1) -> Verdict:
    """Try this 2: the day of the first payout of a payment captured at noon on day 0,
    with a settlement delay of ``settlement_delay_days``."""
    if answer is None:
        return unanswered("a day number (the capture is on day 0)")
    truth = books.first_payout_day(settlement_delay_days)
    if answer == truth:
        return Verdict(True, "the money is available at noon on the day it settles, after"
                       " that day's sweep ran at midnight: it waits for the next.")  # fmt: skip
    if answer == truth - 1:
        return Verdict(False, "that is the day it settles. When in the day does the payout"
                       " sweep run, and is the money available then?")  # fmt: skip
    return Verdict(False, "capture, then the settlement delay, then the next daily sweep.")


def tampered_account(answer: str | None, seq: int = 3) -> Verdict:
    """Try this 3: the account whose balance ``reconcile`` says is wrong once entry ``seq``
    is raised by 1.00 behind the ledger's triggers."""
    if answer is None:
        return unanswered('an account name, e.g. "available"')
    found = books.tampered(seq)
    named = {d["account"] for d in found["differences"] if d["reason"] == WRONG}
    if answer in named:
        return Verdict(True, "the entry's own account no longer holds what the payments and"
                       " fees tables say; the transaction no longer balances and the chain"
                       " breaks at that entry too, so the edit is found three ways.")  # fmt: skip
    return Verdict(False, "look at the account of the entry you changed (the table of the"
                   " payment's life shows each entry's account).")  # fmt: skip
