"""The fraud lab: labelled traffic, replayed against candidate rules, scored.

A scenario run with no fraud rules records the traffic; each create request's phase
(``client_requests.source``) is its label. ``replay`` sends the same creates, at the same
simulated times, to a fresh engine holding only the candidate rules, and reports what the
rules did to each. ``score`` turns that into precision, recall and money: fraud let through
costs its amount (a chargeback), and each honest payment stopped costs ``fp_cost_share`` of
its amount (the sale lost, or a reviewer's time). The share is an argument of every function
that prices, never a module constant, so a notebook can change it and score again without
replaying (``decide`` once, ``table`` as often as you like); ``cheapest`` names the winner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import polars as pl

from mockpay_core import analysis
from mockpay_core.clock import SimulatedClock
from mockpay_core.config import EngineConfig
from mockpay_core.domain.fraud import RuleSpec
from mockpay_core.domain.money import format_major
from mockpay_core.engine import Engine
from mockpay_core.errors import ValidationError
from mockpay_core.ids import SeededIds
from mockpay_core.storage.open import open_store

HOOK: Final = "http://shop.receiver.test/webhooks"
STOPPED: Final = ("flagged", "failed")
FP_COST_SHARE_MAX: Final = 10.0  # a stopped sale can cost more than itself: a lost customer


def traffic(run: str | Path) -> pl.DataFrame:
    """Every payment created in the run, in order, with its label (the phase it came from)."""
    return analysis.query(
        run,
        "SELECT p.created_at, p.customer, p.amount_minor, p.currency, r.source AS label"
        " FROM payments p JOIN client_requests r ON r.payment_id = p.id"
        " WHERE r.action = 'create' AND NOT r.replayed ORDER BY p.created_at, p.id",
    )


def replay(payments: pl.DataFrame, rules: Iterable[RuleSpec], seed: int = 0) -> pl.DataFrame:
    """``payments`` (as from ``traffic``) created again under ``rules`` only; adds ``status``."""
    rows = payments.to_dicts()
    clock = SimulatedClock(rows[0]["created_at"].replace(tzinfo=UTC) if rows else None)
    config = EngineConfig(seed_default_fraud_rules=False)
    statuses = []
    with Engine(open_store(":memory:"), clock=clock, ids=SeededIds(seed), config=config) as e:
        tenant = e.register_tenant("Lab", "lab@shop.test").tenant
        for rule in rules:
            e.create_fraud_rule(rule, tenant.id)
        for i, row in enumerate(rows):
            clock.set(row["created_at"].replace(tzinfo=UTC))
            amount = Decimal(format_major(row["amount_minor"], row["currency"]))
            out = e.create_payment(
                tenant.id, amount=amount, currency=row["currency"], webhook_url=HOOK,
                idempotency_key=f"lab-{i}", customer=row["customer"],
            )  # fmt: skip
            statuses.append(out.value.status.value)
    return payments.with_columns(pl.Series("status", statuses, dtype=pl.String))


def score(
    decided: pl.DataFrame, fraud_labels: Iterable[str], fp_cost_share: float
) -> dict[str, float | None]:
    """Precision, recall (of payments, and of the fraud's money), counts and costs (major
    units) of one replay. Precision is None when nothing was stopped (0 of 0)."""
    if not 0 <= fp_cost_share <= FP_COST_SHARE_MAX:
        raise ValidationError(f"must be 0..{FP_COST_SHARE_MAX}", "fp_cost_share")
    fraud = set(fraud_labels)
    d = decided.with_columns(
        is_fraud=pl.col("label").is_in(list(fraud)), stopped=pl.col("status").is_in(STOPPED)
    )

    def count(expr: pl.Expr) -> int:
        return int(d.filter(expr).height)

    def amount(expr: pl.Expr) -> float:
        return float(d.filter(expr)["amount_minor"].sum()) / 100

    tp = count(pl.col("is_fraud") & pl.col("stopped"))
    fp = count(~pl.col("is_fraud") & pl.col("stopped"))
    fn = count(pl.col("is_fraud") & ~pl.col("stopped"))
    fraud_total = amount(pl.col("is_fraud"))
    fraud_cost = amount(pl.col("is_fraud") & ~pl.col("stopped"))
    fp_cost = amount(~pl.col("is_fraud") & pl.col("stopped")) * fp_cost_share
    return {
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "money_recall": 1 - fraud_cost / fraud_total if fraud_total else 1.0,
        "true_positives": tp,
        "false_positives": fp,
        "missed": fn,
        "fraud_cost": round(fraud_cost, 2),
        "false_positive_cost": round(fp_cost, 2),
        "total_cost": round(fraud_cost + fp_cost, 2),
    }


def decide(
    payments: pl.DataFrame, candidates: Mapping[str, Iterable[RuleSpec]]
) -> dict[str, pl.DataFrame]:
    """Each named candidate rule set's ``replay`` of ``payments``: what it decided."""
    return {name: replay(payments, rules) for name, rules in candidates.items()}


def table(
    decided: Mapping[str, pl.DataFrame], fraud_labels: Iterable[str], fp_cost_share: float
) -> pl.DataFrame:
    """One row per candidate of ``decide``: its ``score`` at ``fp_cost_share``."""
    labels = list(fraud_labels)
    rows = [{"candidate": n, **score(d, labels, fp_cost_share)} for n, d in decided.items()]
    return pl.DataFrame(rows, schema_overrides={"precision": pl.Float64})


def sweep(
    payments: pl.DataFrame,
    candidates: Mapping[str, Iterable[RuleSpec]],
    fraud_labels: Iterable[str],
    fp_cost_share: float,
) -> pl.DataFrame:
    """``decide`` then ``table``: one scored row per named candidate rule set."""
    return table(decide(payments, candidates), fraud_labels, fp_cost_share)


def cheapest(scored: pl.DataFrame) -> dict[str, Any]:
    """The row of ``scored`` (as from ``table``) with the lowest ``total_cost``; of equal
    costs, the first."""
    if scored.is_empty():
        raise ValidationError("no candidates were scored", "scored")
    return scored.row(int(scored["total_cost"].arg_min() or 0), named=True)


def velocity(n: int, window_s: int, scope: str = "customer") -> RuleSpec:
    """More than ``n`` payments within ``window_s`` seconds (per customer or per tenant)."""
    return RuleSpec.model_validate(
        {"name": "velocity", "rule_type": "velocity", "threshold": n, "window_secs": window_s,
         "scope": scope}
    )  # fmt: skip


def volume(limit: float, window_s: int = 3600) -> RuleSpec:
    """More than ``limit`` in money within ``window_s`` seconds, per customer."""
    return RuleSpec.model_validate(
        {"name": "volume", "rule_type": "volume", "threshold": limit, "window_secs": window_s,
         "scope": "customer"}
    )  # fmt: skip


def amount_limit(limit: float) -> RuleSpec:
    """A single payment over ``limit``."""
    return RuleSpec.model_validate(
        {"name": "amount", "rule_type": "amount_limit", "threshold": limit}
    )


def velocity_grid() -> dict[str, list[RuleSpec]]:
    """The notebook's velocity sweep: thresholds 3-20 over windows of 1 min to 1 h."""
    return {f"{n} in {w}s": [velocity(n, w)] for w in (60, 600, 3600) for n in (3, 5, 10, 20)}


def money_grid() -> dict[str, list[RuleSpec]]:
    """The notebook's money sweep: hourly volume limits, and amount limits."""
    grid = {f"volume > {x}/h": [volume(x)] for x in (1000, 2500, 5000, 10000)}
    return grid | {f"amount > {x}": [amount_limit(x)] for x in (1000, 2000, 2800)}


def combinations() -> dict[str, list[RuleSpec]]:
    """The notebook's combined rule sets: a short velocity rule with each money rule that
    caught fraud alone, and the original's defaults; "no rules" as the baseline."""
    return {
        "no rules": [],
        "5 in 60s + volume 2500/h": [velocity(5, 60), volume(2500)],
        "5 in 60s + volume 5000/h": [velocity(5, 60), volume(5000)],
        "5 in 60s + amount 2000": [velocity(5, 60), amount_limit(2000)],
        "3 in 3600s + volume 2500/h": [velocity(3, 3600), volume(2500)],
        "original: 5 in 60s per tenant + amount 100000": [
            velocity(5, 60, "tenant"),
            amount_limit(100000),
        ],
    }
