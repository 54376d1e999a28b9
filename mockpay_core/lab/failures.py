"""Failure in the middle, for notebook 8: what a crash, a lost answer, a killed worker and
a flapping receiver leave behind, counted from a run's tables (or, for the lost answer, from
an engine the function drives itself).

Each count answers one question: was any effect applied twice? A payment charged twice, a
transition written twice, a webhook's effect applied twice by the receiver.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from mockpay_core import analysis
from mockpay_core.clock import SimulatedClock
from mockpay_core.config import EngineConfig
from mockpay_core.engine import Engine
from mockpay_core.ids import SeededIds
from mockpay_core.lab import webhooks

HOOK = "http://shop.receiver.test/webhooks"
START = datetime(2026, 1, 1, tzinfo=UTC)


def crashed_requests(run: str | Path) -> pl.DataFrame:
    """Each client request that a crash (``storage_error``) interrupted: every attempt with
    its key, in order, and what its payment holds afterwards (transitions, events)."""
    return analysis.query(
        run,
        """
        WITH hit AS (SELECT DISTINCT key, action FROM client_requests
                     WHERE error_code = 'storage_error')
        SELECT r.key, r.action,
               string_agg(r.attempt::VARCHAR || ': ' || coalesce(r.error_code, r.status), ', '
                          ORDER BY r.seq) AS attempts,
               any_value(r.payment_id) FILTER (WHERE r.ok) AS payment_id
        FROM client_requests r JOIN hit USING (key, action)
        GROUP BY ALL ORDER BY min(r.seq)
        """,
    )


def rows_per_payment(run: str | Path, payment_ids: list[str]) -> pl.DataFrame:
    """What each payment's transitions wrote: audit rows by status and events by type, with
    how many times each (twice would show as 2)."""
    ids = pl.DataFrame({"payment_id": payment_ids})
    audit = analysis.table(run, "audit_log").join(ids, on="payment_id")
    events = analysis.table(run, "events").join(ids, on="payment_id")
    return (
        pl.concat(
            [
                audit.select("payment_id", written="audit row: " + pl.col("new_status")),
                events.select("payment_id", written="event: " + pl.col("type")),
            ]
        )
        .group_by("payment_id", "written", maintain_order=True)
        .agg(times=pl.len())
    )


def charges_per_key(run: str | Path) -> pl.DataFrame:
    """Payments per idempotency key (more than one would be a double charge), and how many
    of the key's requests were answered from the stored result (``replayed``)."""
    return analysis.query(
        run,
        "SELECT p.idempotency_key AS key, count(DISTINCT p.id) AS payments,"
        " (SELECT count(*) FROM client_requests r WHERE r.key = p.idempotency_key"
        "  AND r.action = 'create' AND r.replayed) AS replayed"
        " FROM payments p GROUP BY 1 ORDER BY 1",
    )


def lost_answer(*, idempotency: bool, retries: int = 1) -> dict[str, int]:
    """A create whose answer is lost after COMMIT, then ``retries`` retries with the same
    key, on a fresh engine with the idempotency layer on or off: payments and charges."""
    config = EngineConfig(idempotency=idempotency, seed_default_fraud_rules=False)
    clock = SimulatedClock(START)
    with Engine.open(":memory:", clock=clock, ids=SeededIds(8), config=config) as e:
        tenant = e.register_tenant("Shop", "dev@shop.test").tenant.id
        ids = {
            e.create_payment(
                tenant, amount=80, currency="USD", webhook_url=HOOK, idempotency_key="order-8"
            ).value.id
            for _ in range(1 + retries)  # the first answer is lost: the client cannot tell
        }
        return {"requests": 1 + retries, "payments": len(ids), "charged_twice": len(ids) - 1}


def resent(run: str | Path) -> pl.DataFrame:
    """Deliveries the receiver got more than once (same ``webhook-id``), with how long
    after the event the last one arrived and what each arrival did."""
    return analysis.query(
        run,
        """
        SELECT r.webhook_id, count(*) AS arrivals,
               string_agg(r.outcome, ', ' ORDER BY r.seq) AS outcomes,
               count(*) FILTER (WHERE r.applied) AS effects,
               epoch(max(r.received_at) - min(e.created_at)) AS last_after_s
        FROM received r JOIN events e ON e.id = r.webhook_id
        GROUP BY 1 HAVING count(*) > 1 ORDER BY min(r.seq)
        """,
    )


def applied_twice(run: str | Path, tenant: str | None = None) -> int:
    """Events whose effect a receiver applied more than once (of ``tenant``, or all)."""
    effects = webhooks.effects_per_event(run)
    if tenant is not None:
        effects = effects.filter(pl.col("tenant") == tenant)
    return int(effects.filter(pl.col("effects") > 1).height)
