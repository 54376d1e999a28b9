"""Notebook 3's sweep over seeds: with the notebook's thresholds, seeds and share, the
threshold it names has the lowest mean cost, is the cheapest in every seed, and its interval
is clear of the next; the sweep plays what a replay of the same traffic decides."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mockpay_core.errors import ValidationError
from mockpay_core.lab import check, fraud, fraud_seeds, runs
from mockpay_core.scenarios.sweep import plan

TRAFFIC = runs.ROOT / "notebooks" / "scenarios" / "fraud-traffic.yaml"
THRESHOLDS, SEEDS = [3, 5, 10], [33, 34, 35, 36]  # the notebook's sweep
FP_COST_SHARE = 0.3  # the notebook's first cell


@pytest.fixture(scope="module")
def seed_runs(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    out = tmp_path_factory.mktemp("seeds")
    return fraud_seeds.velocity_sweep(TRAFFIC, out, THRESHOLDS, SEEDS)


def test_the_sweep_has_one_row_per_threshold_and_seed(seed_runs: pl.DataFrame) -> None:
    assert seed_runs.height == len(THRESHOLDS) * len(SEEDS)
    assert sorted(set(seed_runs["threshold"])) == THRESHOLDS
    assert sorted(set(seed_runs["seed"])) == SEEDS
    assert (seed_runs["missed_fraud"] > 0).all()


def test_the_headline_five_is_cheapest_in_every_seed_and_clear_of_the_next(
    seed_runs: pl.DataFrame,
) -> None:
    per = fraud_seeds.summary(fraud_seeds.costs(seed_runs, FP_COST_SHARE))
    found = fraud_seeds.verdict(per)
    assert found["best"]["threshold"] == 5
    assert found["best"]["mean"] == per["mean"].min()
    assert found["cheapest_in"] == found["seeds"] == len(SEEDS)
    assert found["overlap"] is False
    assert found["runner_up"]["threshold"] == 10


def test_what_the_text_says_a_lower_threshold_stops_regulars(seed_runs: pl.DataFrame) -> None:
    by = {t: g for (t,), g in seed_runs.group_by("threshold")}
    assert (by[3]["missed_fraud"].to_numpy() < by[5]["missed_fraud"].to_numpy()).all()
    assert (by[3]["stopped_honest_payments"] > 0).all()
    assert (by[10]["stopped_honest_payments"] == 0).all()
    assert len(set(by[3]["stopped_honest_payments"])) > 1  # it changes from seed to seed


def test_interval_is_the_t_interval_over_seeds(seed_runs: pl.DataFrame) -> None:
    priced = fraud_seeds.costs(seed_runs, FP_COST_SHARE)
    row = fraud_seeds.summary(priced).row(1, named=True)
    values = priced.filter(pl.col("threshold") == row["threshold"])["cost"]
    half = 3.182446 * values.std() / 2  # t(0.975, 3) * s / sqrt(4)
    assert row["mean"] == pytest.approx(values.mean())
    assert (row["low"], row["high"]) == pytest.approx((values.mean() - half, values.mean() + half))


def test_the_sweep_prices_its_runs_as_a_replay_scores_them(seed_runs: pl.DataFrame) -> None:
    at = (pl.col("threshold") == 5) & (pl.col("seed") == 33)
    row = fraud_seeds.costs(seed_runs, FP_COST_SHARE).filter(at).row(0, named=True)
    replayed = fraud.replay(fraud.traffic(row["run_dir"]), [fraud.velocity(5, 60)])
    scored = fraud.score(replayed, fraud_seeds.FRAUD, FP_COST_SHARE)
    assert scored["fraud_cost"] == pytest.approx(row["missed_fraud"])
    assert scored["false_positives"] == row["stopped_honest_payments"]
    assert scored["total_cost"] == pytest.approx(row["cost"], abs=0.01)


def test_the_phases_left_out_hold_no_payment_a_60s_rule_stops(tmp_path: Path) -> None:
    traffic = fraud.traffic(runs.play(TRAFFIC, tmp_path).run_dir)
    held = fraud_seeds.stopped_honest_labels(
        fraud.decide(traffic, fraud.velocity_grid()), ["card-tester", "big-ticket"]
    )
    shown = {label for name, labels in held.items() if name.endswith(" 60s") for label in labels}
    assert shown == {"regulars"} and shown <= set(fraud_seeds.PHASES)
    assert held["3 in 600s"] != ["regulars"]  # a longer window would need the other phases


def test_bad_arguments_are_named_before_anything_runs(tmp_path: Path) -> None:
    for thresholds, seeds, field in [
        ([], SEEDS, "thresholds"),
        ([5, 5], SEEDS, "thresholds"),
        ([0], SEEDS, "thresholds"),
        ([2.5], SEEDS, "thresholds"),
        ([5], [33], "seeds"),
        ([5], [33, 33], "seeds"),
        ([5], list(range(60)), "seeds"),
    ]:
        with pytest.raises(ValidationError, match=field):
            fraud_seeds.sweep_file(TRAFFIC, tmp_path, thresholds, seeds)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="window_s"):
        fraud_seeds.sweep_file(TRAFFIC, tmp_path, [5], SEEDS, window_s=0)
    assert not list(tmp_path.iterdir())


def test_the_sweep_file_is_a_valid_sweep(tmp_path: Path) -> None:
    the_plan = plan(fraud_seeds.sweep_file(TRAFFIC, tmp_path, THRESHOLDS, SEEDS), tmp_path)
    assert the_plan.parameters == (fraud_seeds.THRESHOLD,)
    assert the_plan.points == len(THRESHOLDS) and len(the_plan.tasks) == 12


def test_costs_and_summary_refuse_bad_input(seed_runs: pl.DataFrame) -> None:
    with pytest.raises(ValidationError, match="fp_cost_share"):
        fraud_seeds.costs(seed_runs, -0.1)
    with pytest.raises(ValidationError, match="priced"):
        fraud_seeds.summary(fraud_seeds.costs(seed_runs, 0.3).clear())
    one = fraud_seeds.summary(fraud_seeds.costs(seed_runs, 0.3)).head(1)
    with pytest.raises(ValidationError, match="two thresholds"):
        fraud_seeds.verdict(one)


def test_cheapest_threshold_check(seed_runs: pl.DataFrame) -> None:
    assert check.cheapest_threshold(None, seed_runs, 0.05).right is None
    right = check.cheapest_threshold(3, seed_runs, 0.05)
    assert right.right is True and "4 of 4" in right.why and "overlaps" in right.why
    assert check.cheapest_threshold(5, seed_runs, 0.05).right is False
    assert check.cheapest_threshold(7, seed_runs, 0.05).right is False
    assert check.cheapest_threshold(5, seed_runs, FP_COST_SHARE).right is True
