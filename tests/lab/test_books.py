"""Notebook 10's claims, through the functions it calls with its own numbers."""

from __future__ import annotations

from mockpay_core.domain.reconcile import WRONG
from mockpay_core.lab import books, check


def test_a_payments_life_is_four_balanced_transactions() -> None:
    life = books.payment_life(amount=100, refund=10)
    kinds = [r["transaction"] for r in life]
    assert kinds == ["capture"] * 3 + ["refund"] * 2 + ["settlement"] * 2 + ["payout"] * 2
    for kind in set(kinds):
        legs = [r for r in life if r["transaction"] == kind]
        assert sum(r["debit_minor"] for r in legs) == sum(r["credit_minor"] for r in legs)
    by_leg = {(r["transaction"], r["account"]): r for r in life}
    assert by_leg[("capture", "pending")]["credit_minor"] == 9_680  # 100.00 less 3.20
    assert by_leg[("capture", "fees")]["credit_minor"] == 320
    assert (by_leg[("settlement", "available")]["day"], by_leg[("payout", "network")]["day"]) == (
        2, 3,
    )  # fmt: skip
    assert by_leg[("payout", "available")]["debit_minor"] == 8_680  # what the refund left


def test_fees_round_the_percentage_half_up_and_never_exceed_the_capture() -> None:
    rows = {r["captured_minor"]: r["fee_minor"] for r in books.fee_rows([20, 50, 1_017, 1_052])}
    assert rows == {20: 20, 50: 31, 1_017: 59, 1_052: 61}


def test_a_month_balances_to_zero_reconciles_and_pays_out_from_day_three() -> None:
    june = books.month(days=30, per_day=3, seed=10)
    accounts = {r["account"]: r for r in books.t_accounts(june.entries)}
    assert sum(r["balance_minor"] for r in accounts.values()) == 0
    assert accounts["available"]["balance_minor"] == 0  # swept out every day
    assert accounts["fees"]["balance_minor"] > 0 and accounts["network"]["balance_minor"] < 0
    assert june.reconciled and june.differences == []
    assert min(p["day"] for p in june.payouts) == 3
    assert len(june.payouts) == 28 and all(p["status"] == "paid" for p in june.payouts)


def test_a_lost_dispute_drives_available_negative_and_the_sweep_waits() -> None:
    quiet = books.month(days=10, per_day=1, seed=10, lost_dispute_day=5)
    low = min(quiet.days, key=lambda d: d["available_minor"])
    assert (low["day"], low["available_minor"]) == (5, -13_945)
    assert [d["day"] for d in quiet.days if d["available_after_sweep_minor"] < 0] == [6]
    assert 6 not in {p["day"] for p in quiet.payouts} and quiet.reconciled


def test_reconcile_finds_the_tampered_entry_three_ways() -> None:
    found = books.tampered(seq=2, by_minor=100)
    assert found["ok_before"] and not found["ok_after"] and not found["chain_ok"]
    assert (found["entry"]["transaction"], found["entry"]["account"]) == ("capture", "pending")
    wrong = {d["account"]: d for d in found["differences"] if d["reason"] == WRONG}
    assert set(wrong) == {"funds", "pending"}
    assert wrong["pending"]["actual_minor"] - wrong["pending"]["expected_minor"] == 100
    reasons = {d["reason"].split(":")[0] for d in found["differences"]}
    assert {"a transaction whose debits are not its credits",
            "the ledger's chain breaks"} <= reasons  # fmt: skip


def test_the_try_this_checks_know_the_answers() -> None:
    assert check.fee_on(59, captured_minor=1017).right is True
    assert check.fee_on(60, captured_minor=1017).right is False
    assert check.fee_on(None).right is None
    assert check.first_payout(2, settlement_delay_days=1).right is True
    assert check.first_payout(1, settlement_delay_days=1).right is False
    assert check.tampered_account("fees", seq=3).right is True
    assert check.tampered_account("pending", seq=3).right is False
