"""The "Try this" checks: right answers pass, wrong ones fail with a hint that does not
give the answer away, and no answer is not judged."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockpay_core.lab import check, runs, scale


def test_a_verdict_shows_as_markdown_and_as_its_text() -> None:
    verdict = check.Verdict(True, "because.")
    assert repr(verdict) == str(verdict) == "Right: because."
    assert verdict._repr_markdown_() == "✅ **Right**: because."
    assert str(check.Verdict(None, "x")).startswith("No answer yet")


@pytest.mark.parametrize(
    "fn",
    [check.refund_after_cancel, check.short_settle, check.duplicate_charges,
     check.key_expiry_second, check.long_outage, check.deleted_row, check.metadata_edit_caught,
     check.blind_guesses],
)  # fmt: skip
def test_no_answer_is_not_judged(fn) -> None:  # type: ignore[no-untyped-def]
    assert fn(None).right is None


def test_refund_after_cancel() -> None:
    assert check.refund_after_cancel("invalid_transition").right is True
    wrong = check.refund_after_cancel("amount_exceeded")
    assert wrong.right is False and "invalid_transition" not in wrong.why


def test_short_settle_runs_the_scenario_with_one_day() -> None:
    assert check.short_settle("expired after 7 days").right is True
    assert check.short_settle("one audit row").right is True
    wrong = check.short_settle("the audit chain verifies")
    assert wrong.right is False and "expire" not in wrong.why


def test_fired_rule(tmp_path: Path) -> None:
    run = runs.play("01-happy-path.yaml", tmp_path).run_dir
    assert check.fired_rule("High value txn", run).right is True
    assert check.fired_rule("velocity", run).right is False


def test_duplicate_charges() -> None:
    assert check.duplicate_charges(50).right is True
    assert check.duplicate_charges(1).right is False
    assert check.duplicate_charges(5, requests=5).right is True


def test_key_expiry_second_finds_the_first() -> None:
    assert check.key_expiry_second(60).right is True
    assert "earlier" in check.key_expiry_second(61).why
    assert "longer" in check.key_expiry_second(59).why
    assert check.key_expiry_second(10, ttl_s=10).right is True


def test_long_outage() -> None:
    assert check.long_outage(False).right is True
    assert check.long_outage(True).right is False
    assert check.long_outage(True, outage_h=6).right is True


def test_audit_checks() -> None:
    assert check.deleted_row(4).right is True
    assert check.deleted_row(3).right is False
    assert check.metadata_edit_caught(True).right is True
    assert check.metadata_edit_caught(False).right is False


def test_busiest_hour(tmp_path: Path) -> None:
    import polars as pl

    run = scale.bulk_run(tmp_path, 2000, days=2, seed=3)
    file = run / "payments.parquet"
    counts = pl.read_parquet(file).group_by(h=pl.col("created_at").dt.hour()).len()
    best = counts.sort("len", "h", descending=[True, False])["h"][0]
    assert check.busiest_hour(best, file).right is True
    assert check.busiest_hour((best + 1) % 24, file).right is False
    assert "not an hour" in check.busiest_hour(24, file).why


@pytest.mark.parametrize("field", ["customer", "capture_method"])
def test_changed_field_is_a_different_request(field: str) -> None:
    assert check.changed_field(True, field).right is True
    assert check.changed_field(False, field).right is False
    assert check.changed_field(None, field).right is None


def test_failure_checks() -> None:
    assert check.lost_answer_payments(4, retries=3).right is True
    assert check.lost_answer_payments(1, retries=3).right is False
    assert check.no_flapping_twice(None).right is None
    assert check.no_flapping_twice(0).right is True
    assert check.no_flapping_twice(5).right is False
