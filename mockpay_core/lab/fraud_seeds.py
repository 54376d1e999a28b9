"""Notebook 3 over seeds: is the cheapest velocity threshold the cheapest for every seed?

``velocity_sweep`` writes the notebook's traffic scenario as a sweep file and plays it
through ``mockpay_core.scenarios.sweep``: one per-customer velocity rule whose threshold
the sweep varies, a few seeds, and two metrics in SQL, the fraud's money let through and
the honest money stopped. Only the phases a short-window velocity rule can act on are
kept (``PHASES``: the card tester and the regulars; the notebook shows its rules stop no
other honest payment), which keeps each run short and leaves out money no threshold moves.
``costs`` prices each run at a share, so a new share needs no new run; ``summary`` gives
each threshold's mean cost with its 95 % interval over seeds (Student's t, as ``mockpay
sweep`` prints) and the seeds where it was cheapest; ``verdict`` names the winner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import polars as pl
import yaml

from mockpay_core import analysis
from mockpay_core.errors import ValidationError
from mockpay_core.lab import fraud
from mockpay_core.scenarios.executor import open_executor
from mockpay_core.scenarios.sweep import interval, plan, run_sweep

PHASES: Final = ("regulars", "card-tester")
FRAUD: Final = ("card-tester",)
THRESHOLD: Final = "engine.fraud_rules.0.threshold"
SEEDS_MAX: Final = 50
NAME: Final = "fraud-velocity-seeds"
_CREATES = (
    " FROM payments p JOIN client_requests r ON r.payment_id = p.id"
    " WHERE r.action = 'create' AND NOT r.replayed"
)
_MONEY = "SELECT coalesce(sum(p.amount_minor), 0) / 100"


def _labels(names: Sequence[str]) -> str:
    return ", ".join("'" + n.replace("'", "''") + "'" for n in names)


def _metrics() -> dict[str, str]:
    """Each run's money let through and honest money stopped, as ``mockpay sweep`` metrics."""
    is_fraud = f"r.source IN ({_labels(FRAUD)})"
    stopped = f"p.status IN ({_labels(fraud.STOPPED)})"
    held = f"{_CREATES} AND NOT {is_fraud} AND {stopped}"
    return {
        "missed_fraud": f"{_MONEY}{_CREATES} AND {is_fraud} AND NOT {stopped}",
        "stopped_honest": _MONEY + held,
        "stopped_honest_payments": "SELECT count(*)" + held,
    }


def _check(thresholds: Sequence[int], seeds: Sequence[int], window_s: int) -> None:
    if not thresholds or len(set(thresholds)) != len(thresholds):
        raise ValidationError("give one or more different thresholds", "thresholds")
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in thresholds):
        raise ValidationError(
            "each threshold is a whole number of payments, 1 or more", "thresholds"
        )
    if not 2 <= len(set(seeds)) == len(seeds) <= SEEDS_MAX:
        raise ValidationError(
            f"give 2..{SEEDS_MAX} different seeds (an interval needs two)", "seeds"
        )
    if isinstance(window_s, bool) or not isinstance(window_s, int) or window_s < 1:
        raise ValidationError("a whole number of seconds, 1 or more", "window_s")


def sweep_file(
    traffic: str | Path, out_dir: str | Path, thresholds: Sequence[int], seeds: Sequence[int],
    window_s: int = 60,
) -> Path:  # fmt: skip
    """The traffic scenario at ``traffic`` as a sweep file in ``out_dir``: ``PHASES`` only,
    one per-customer velocity rule over ``window_s``, its threshold swept over ``thresholds``
    with each of ``seeds``."""
    _check(thresholds, seeds, window_s)
    data = yaml.safe_load(Path(traffic).read_text())
    phases = [p for p in data["phases"] if p["name"] in PHASES]
    rule = fraud.velocity(thresholds[0], window_s).model_dump(mode="json", exclude_defaults=True)
    data |= {
        "name": NAME,
        "phases": phases,
        "engine": {**data.get("engine", {}), "fraud_rules": [{**rule, "threshold": thresholds[0]}]},
        "expectations": [{
            "name": "every phase sent traffic",
            "sql": "SELECT count(DISTINCT source) FROM client_requests",
            "value": len(phases),
        }],
        "sweep": {"parameters": {THRESHOLD: list(thresholds)}, "seeds": list(seeds),
                  "metrics": _metrics()},
    }  # fmt: skip
    path = Path(out_dir) / f"{NAME}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def velocity_sweep(
    traffic: str | Path, out_dir: str | Path, thresholds: Sequence[int], seeds: Sequence[int],
    window_s: int = 60,
) -> pl.DataFrame:  # fmt: skip
    """Play ``sweep_file``'s grid in this process; one row per run: ``threshold``, ``seed``,
    ``missed_fraud`` and ``stopped_honest`` (major units), ``stopped_honest_payments``, and
    ``run_dir``, where the run's tables are."""
    path = sweep_file(traffic, out_dir, thresholds, seeds, window_s)
    dataset = run_sweep(plan(path, out_dir), open_executor(jobs=1))
    runs = analysis.sweep(dataset)
    failed = runs.filter(~pl.col("ok"))
    if failed.height:
        first = failed.row(0, named=True)
        raise RuntimeError(
            f"{failed.height} of {runs.height} runs failed, the first at threshold"
            f" {first[THRESHOLD]}, seed {first['seed']}: {first['error'] or 'an expectation'}"
        )
    where = pl.col("run_dir").map_elements(lambda d: str(dataset.parent / d), pl.String)
    return runs.select(pl.col(THRESHOLD).alias("threshold"), "seed", *_metrics(), where).sort(
        "threshold", "seed"
    )


def costs(runs: pl.DataFrame, fp_cost_share: float) -> pl.DataFrame:
    """``runs`` (as from ``velocity_sweep``) with ``cost``: the fraud let through, plus
    ``fp_cost_share`` of the honest money stopped."""
    if not 0 <= fp_cost_share <= fraud.FP_COST_SHARE_MAX:
        raise ValidationError(f"must be 0..{fraud.FP_COST_SHARE_MAX}", "fp_cost_share")
    cost = pl.col("missed_fraud") + pl.col("stopped_honest") * fp_cost_share
    return runs.with_columns(cost=cost.round(2))


def summary(priced: pl.DataFrame) -> pl.DataFrame:
    """Per threshold of ``priced`` (as from ``costs``): ``seeds``, ``mean`` cost and its 95 %
    interval ``low``-``high`` over the seeds, and ``cheapest_in``, the seeds where no other
    threshold cost less."""
    if priced.is_empty():
        raise ValidationError("no runs were priced", "priced")
    least = priced.group_by("seed").agg(least=pl.col("cost").min())
    won = priced.join(least, on="seed").with_columns(won=pl.col("cost") == pl.col("least"))
    rows = []
    for (threshold,), group in won.group_by("threshold", maintain_order=True):
        found = interval(group["cost"].to_list())
        assert found is not None
        rows.append({"threshold": threshold, "seeds": found.n, "mean": found.mean,
                     "low": found.low, "high": found.high,
                     "cheapest_in": int(group["won"].sum())})  # fmt: skip
    return pl.DataFrame(rows).sort("threshold")


def verdict(summarised: pl.DataFrame) -> dict[str, Any]:
    """The threshold with the lowest mean cost (``best``), the next lowest (``runner_up``),
    whether their intervals overlap, and in how many of the ``seeds`` ``best`` was cheapest."""
    if summarised.height < 2:
        raise ValidationError("compare two thresholds or more", "summarised")
    best, runner_up = summarised.sort("mean", maintain_order=True).head(2).iter_rows(named=True)
    return {
        "best": best,
        "runner_up": runner_up,
        "overlap": best["high"] >= runner_up["low"],
        "cheapest_in": best["cheapest_in"],
        "seeds": best["seeds"],
    }


def stopped_honest_labels(
    decided: Mapping[str, pl.DataFrame], fraud_labels: Sequence[str]
) -> dict[str, list[str]]:
    """For each candidate of ``fraud.decide``, the labels (phases) of the honest payments
    it stopped."""
    honest_stopped = pl.col("status").is_in(fraud.STOPPED) & ~pl.col("label").is_in(fraud_labels)
    return {
        name: sorted(set(d.filter(honest_stopped)["label"].to_list()))
        for name, d in decided.items()
    }
