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
    """Seconds from each event to its delivery (delivered events only)."""
    return analysis.query(
        run,
        "SELECT event_id, attempts, epoch(delivered_at) - epoch(created_at) AS latency_s"
        " FROM deliveries WHERE status = 'delivered' ORDER BY seq",
    )


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
