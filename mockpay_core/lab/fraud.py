"""The fraud lab: labelled traffic, replayed against candidate rules, scored.

A scenario run with no fraud rules records the traffic; each create request's phase
(``client_requests.source``) is its label. ``replay`` sends the same creates, at the same
simulated times, to a fresh engine holding only the candidate rules, and reports what the
rules did to each. ``score`` turns that into precision, recall and money: fraud let through
costs its amount (a chargeback), and each honest payment stopped costs ``FP_COST_SHARE`` of
its amount (the sale lost, or a reviewer's time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Final

import polars as pl

from mockpay_core import analysis
from mockpay_core.clock import SimulatedClock
from mockpay_core.config import EngineConfig
from mockpay_core.domain.fraud import RuleSpec
from mockpay_core.domain.money import format_major
from mockpay_core.engine import Engine
from mockpay_core.ids import SeededIds
from mockpay_core.storage.open import open_store

FP_COST_SHARE: Final = 0.3
HOOK: Final = "http://shop.receiver.test/webhooks"
STOPPED: Final = ("flagged", "failed")


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
    decided: pl.DataFrame, fraud_labels: Iterable[str], fp_cost_share: float = FP_COST_SHARE
) -> dict[str, float]:
    """Precision, recall, counts and costs (major units) of one replay."""
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
    fraud_cost = amount(pl.col("is_fraud") & ~pl.col("stopped"))
    fp_cost = amount(~pl.col("is_fraud") & pl.col("stopped")) * fp_cost_share
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "true_positives": tp,
        "false_positives": fp,
        "missed": fn,
        "fraud_cost": round(fraud_cost, 2),
        "false_positive_cost": round(fp_cost, 2),
        "total_cost": round(fraud_cost + fp_cost, 2),
    }


def sweep(
    payments: pl.DataFrame,
    candidates: Mapping[str, Iterable[RuleSpec]],
    fraud_labels: Iterable[str],
    fp_cost_share: float = FP_COST_SHARE,
) -> pl.DataFrame:
    """One row per named candidate rule set: its ``score`` on ``payments``."""
    labels = list(fraud_labels)
    return pl.DataFrame(
        [
            {"candidate": name, **score(replay(payments, rules), labels, fp_cost_share)}
            for name, rules in candidates.items()
        ]
    )
