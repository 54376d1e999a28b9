"""A run's webhook deliveries as frames, and replaying its dead-letter queue.

``attempts``, ``latency`` and ``dlq_depth`` read a run's tables; ``replay_dead_letters``
opens the run's SQLite database with an engine on the run's final clock, moves the dead
deliveries back to pending, and delivers them to a receiver that is up again.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from mockpay_core import analysis
from mockpay_core.clock import SimulatedClock
from mockpay_core.delivery.simulated import ReceiverModel, SimulatedReceiver, SimulatedTransport
from mockpay_core.engine import Engine
from mockpay_core.ids import SeededIds


def attempts(run: str | Path) -> pl.DataFrame:
    """Every attempt: when it was sent, its number, whether it succeeded, hours into the run."""
    return analysis.query(
        run,
        "SELECT a.sent_at, a.attempt, a.succeeded, coalesce(a.error, a.status_code::VARCHAR)"
        " AS answer, epoch(a.sent_at - i.simulated_start) / 3600 AS hour"
        " FROM delivery_attempts a, run_info i ORDER BY a.sent_at, a.event_id",
    )


def latency(run: str | Path) -> pl.DataFrame:
    """Seconds from each event to its delivery (delivered events only), and the hour into
    the run at which the event was created."""
    return analysis.query(
        run,
        "SELECT d.event_id, d.attempts, epoch(d.delivered_at) - epoch(d.created_at) AS latency_s,"
        " epoch(d.created_at - i.simulated_start) / 3600 AS created_h"
        " FROM deliveries d, run_info i WHERE d.status = 'delivered' ORDER BY d.seq",
    )


def human_duration(seconds: float) -> str:
    """``seconds`` in the unit a person reads best: ms, s, min or h, three digits at most."""
    for unit, size_s in (("h", 3600.0), ("min", 60.0), ("s", 1.0)):
        if abs(seconds) >= size_s:
            return f"{seconds / size_s:.3g} {unit}"
    return f"{seconds * 1000:.3g} ms"


def latency_summary(latencies: pl.DataFrame, down_h: tuple[float, float]) -> pl.DataFrame:
    """Median, 99th percentile and maximum latency, in human units, of all events and of
    those created inside and outside the outage ``down_h`` (start and end hour)."""
    inside = pl.col("created_h").is_between(*down_h, closed="left")
    parts = {
        "all": latencies,
        "created while the receiver was down": latencies.filter(inside),
        "created while it was up": latencies.filter(~inside),
    }
    rows = []
    for name, part in parts.items():
        s = part["latency_s"]
        figures = {"median": s.median(), "p99": s.quantile(0.99), "max": s.max()}
        shown = {k: "-" if v is None else human_duration(float(v)) for k, v in figures.items()}  # type: ignore[arg-type]
        rows.append({"events": name, "count": part.height, **shown})
    return pl.DataFrame(rows)


def dlq_depth(run: str | Path, every_s: int = 600) -> pl.DataFrame:
    """Dead deliveries at each step of ``every_s`` seconds from the run's start to its end."""
    return analysis.query(
        run,
        f"""
        WITH t AS (SELECT unnest(generate_series(simulated_start, simulated_end,
                                                 INTERVAL {int(every_s)} SECOND)) AS at,
                          simulated_start FROM run_info)
        SELECT t.at, epoch(t.at - t.simulated_start) / 3600 AS hour,
               (SELECT count(*) FROM deliveries d WHERE d.dead_at <= t.at) AS dead
        FROM t ORDER BY t.at
        """,
    )


def replay_dead_letters(run: str | Path, seed: int = 0) -> dict[str, Any]:
    """Replay every dead delivery of a run (once the receiver is back): each is sent again
    with the same webhook-id. Changes the run's SQLite file, not its exported tables."""
    run_dir = Path(run)
    end = analysis.query(run_dir, "SELECT simulated_end, simulated_start FROM run_info").row(0)
    clock = SimulatedClock(end[0].replace(tzinfo=UTC))
    start: datetime = end[1].replace(tzinfo=UTC)
    receiver = SimulatedReceiver(ReceiverModel())
    with Engine.open(str(run_dir / "mockpay.db"), clock=clock, ids=SeededIds(seed)) as engine:
        revived = engine.recover_dead_letters(since=start)
        transport = SimulatedTransport({"*": receiver}, clock, random.Random(seed))
        dispatcher = engine.dispatcher(
            transport=transport, rng=random.Random(seed), timer=lambda: 0.0
        )
        try:
            dispatcher.run_until_idle()
        finally:
            dispatcher.close()
        left = len(engine.dead_letters(limit=1000))
    return {"replayed": revived, "delivered": len(receiver.processed), "still_dead": left}


def effects_per_event(run: str | Path) -> pl.DataFrame:
    """Every delivered event of the run (a payout's event has no delivery of its own), its
    tenant, and how many times a receiver applied its effect (``received.applied``): 1 is
    exactly once, 0 never, 2 or more twice or more."""
    return analysis.query(
        run,
        "SELECT e.id AS event_id, t.name AS tenant, e.type,"
        " count(r.webhook_id) FILTER (WHERE r.applied) AS effects"
        " FROM events e JOIN tenants t ON t.id = e.tenant_id"
        " JOIN deliveries d ON d.event_id = e.id"
        " LEFT JOIN received r ON r.webhook_id = e.id"
        " GROUP BY ALL ORDER BY min(e.created_at), e.id",
    )


def exactly_once(effects: pl.DataFrame) -> bool:
    """Did every event of ``effects`` (as from ``effects_per_event``) take effect once?
    Unlike ``count(DISTINCT webhook_id)``, a duplicate makes this False."""
    return bool(effects.height) and bool((effects["effects"] == 1).all())
