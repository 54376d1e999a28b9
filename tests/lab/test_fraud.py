"""Notebook 3's headline: the cheapest rule set it names is the minimum of its sweep, and
what its text says about that choice holds, at the notebook's own share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from mockpay_core.errors import ValidationError
from mockpay_core.lab import check, fraud, runs

FRAUD = ["card-tester", "big-ticket"]
FP_COST_SHARE = 0.3  # the notebook's first cell
TRAFFIC = runs.ROOT / "notebooks" / "scenarios" / "fraud-traffic.yaml"


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, pl.DataFrame]]:
    run = runs.play(TRAFFIC, tmp_path_factory.mktemp("fraud")).run_dir
    traffic = fraud.traffic(run)
    candidates = fraud.velocity_grid() | fraud.money_grid() | fraud.combinations()
    yield fraud.decide(traffic, candidates)


def _rows(scored: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return scored.rows_by_key("candidate", named=True, unique=True, include_key=True)


def test_the_stated_cheapest_is_the_minimum_of_the_sweep(decided: dict) -> None:
    scored = fraud.table(decided, FRAUD, FP_COST_SHARE)
    best = fraud.cheapest(scored)
    assert scored.height == 25
    assert best["total_cost"] == scored["total_cost"].min()
    assert best["candidate"] == "5 in 60s + volume 5000/h"  # the pair the old notebook missed


def test_what_the_text_says_about_the_choice(decided: dict) -> None:
    rows = _rows(fraud.table(decided, FRAUD, FP_COST_SHARE))
    best = rows["5 in 60s + volume 5000/h"]
    assert best["false_positives"] == 0
    assert best["total_cost"] < rows["5 in 60s"]["total_cost"]
    assert best["total_cost"] < rows["volume > 5000/h"]["total_cost"]
    lower = rows["5 in 60s + volume 2500/h"]
    assert lower["fraud_cost"] < best["fraud_cost"] and lower["total_cost"] > best["total_cost"]
    assert rows["amount > 2000"]["false_positives"] > 0
    combos = [rows[name] for name in fraud.combinations()]
    worst = max(combos, key=lambda r: r["false_positives"])
    assert worst["candidate"].startswith("original:")


def test_no_rules_has_no_precision_and_high_recall_saves_little(decided: dict) -> None:
    rows = _rows(fraud.table(decided, FRAUD, FP_COST_SHARE))
    assert rows["no rules"]["precision"] is None and rows["no rules"]["recall"] == 0.0
    velocity = rows["5 in 60s"]
    assert velocity["recall"] > 0.9 and velocity["money_recall"] < 0.05


def test_the_share_is_an_argument_not_a_constant_bound_at_import(decided: dict) -> None:
    at_03 = _rows(fraud.table(decided, FRAUD, 0.3))
    at_10 = _rows(fraud.table(decided, FRAUD, 1.0))
    name = "5 in 60s + volume 2500/h"
    assert at_10[name]["false_positive_cost"] == pytest.approx(
        at_03[name]["false_positive_cost"] / 0.3, abs=0.02
    )
    with pytest.raises(ValidationError, match="fp_cost_share"):
        fraud.table(decided, FRAUD, -1)


def test_cheapest_rule_set_check(decided: dict) -> None:
    at_10 = _rows(fraud.table(decided, FRAUD, 1.0))
    best = min(at_10, key=lambda n: at_10[n]["total_cost"])
    assert check.cheapest_rule_set(None, at_10).right is None
    assert check.cheapest_rule_set(best, at_10).right is True
    wrong = check.cheapest_rule_set("5 in 60s + volume 2500/h", at_10)
    assert wrong.right is False and "honest payments" in wrong.why
    assert check.cheapest_rule_set("5 in 60s", at_10).right is False
    assert "not one of" in check.cheapest_rule_set("nonsense", at_10).why
    assert best not in check.cheapest_rule_set("5 in 60s", at_10).why


def test_replay_and_score_one_rule(tmp_path: Path) -> None:
    run = runs.play("04-card-testing.yaml", tmp_path, engine={"fraud_rules": []},
                    expectations=[]).run_dir  # fmt: skip
    traffic = fraud.traffic(run).filter(pl.col("label").is_in(["testing", "shoppers"]))
    decided = fraud.replay(traffic, [fraud.velocity(5, 60)])
    scored = fraud.score(decided, ["testing"], FP_COST_SHARE)
    assert (scored["true_positives"], scored["false_positives"], scored["missed"]) == (195, 0, 5)
    assert scored["precision"] == 1.0 and scored["fraud_cost"] == 5.0
    table = fraud.sweep(traffic, {"none": [], "v": [fraud.velocity(5, 60)]}, ["testing"], 0.3)
    assert table["recall"].to_list() == [0.0, 0.975]
    assert table["precision"].to_list() == [None, 1.0]
