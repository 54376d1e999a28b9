"""Notebook 9's claims, through the functions it calls with its own numbers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from mockpay_core.lab import check, money, runs


def test_a_partial_capture_releases_the_rest() -> None:
    held = money.authorize_and_capture(120, 100)
    assert (held["authorized"]["status"], held["authorized"]["captured_minor"]) == ("authorized", 0)
    assert (held["captured"]["status"], held["captured"]["captured_minor"]) == ("success", 10_000)
    assert held["released_minor"] == 2_000


def test_an_uncaptured_authorization_expires_on_day_seven() -> None:
    days = money.expiry(timedelta(days=8))
    assert [d["status"] for d in days] == ["authorized"] * 7 + ["canceled"] * 2
    assert all(d["captured_minor"] == 0 for d in days)


def test_the_refund_storm_never_passes_what_was_captured(tmp_path: Path) -> None:
    refunds = money.refund_storm(runs.play("07-refund-storm.yaml", tmp_path).run_dir)
    totals = refunds["refunded_total_minor"].to_list()
    assert refunds.height == 15 and totals[-1] == refunds["captured_minor"][0] == 10_000
    assert max(totals) <= 10_000 and totals == sorted(totals)


def test_disputes_move_money_only_when_lost() -> None:
    won, lost = money.dispute("won")["steps"], money.dispute("lost")["steps"]
    assert [s["status"] for s in won] == ["success", "disputed", "success"]
    assert won[-1]["disputed_minor"] == 0
    assert [s["status"] for s in lost] == ["success", "disputed", "partially_refunded"]
    assert lost[-1]["disputed_minor"] == 6_000


def test_minor_units_refuse_rather_than_round() -> None:
    assert money.minor_units(3000, "JPY")["minor"] == 3000
    assert "0 decimal places" in money.minor_units(30.5, "JPY")["refused"]
    assert money.minor_units(49.99, "USD")["minor"] == 4999
    assert money.minor_units(0.1 + 0.2, "USD")["refused"] is not None
    assert money.minor_units("10.00", "USD")["refused"] == "amount: must be a number"
    assert "currency" in money.minor_units(5, "KWD")["refused"]


def test_money_checks() -> None:
    assert check.storm_successes(25).right is True
    assert check.storm_successes(30).right is False
    assert check.jpy_accepted({500}).right is True
    assert check.jpy_accepted({500, 499.5}).right is False
    assert check.jpy_accepted(None).right is None
