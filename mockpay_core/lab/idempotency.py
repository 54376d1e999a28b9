"""A client's retry storm: the same create sent many times at once, with one key.

``retry_storm`` runs it on a fresh engine with the idempotency layer on or off
(``EngineConfig(idempotency=...)``) and returns one row per request, so a notebook can
count payments, charges and replays.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import polars as pl

from mockpay_core.clock import SimulatedClock
from mockpay_core.config import EngineConfig
from mockpay_core.engine import Engine
from mockpay_core.ids import SeededIds
from mockpay_core.storage.open import open_store

START = datetime(2026, 1, 1, tzinfo=UTC)
HOOK = "http://shop.receiver.test/webhooks"
REQUESTS_MAX = 256


def retry_storm(
    *, idempotency: bool, requests: int = 20, amount: float = 250.0, seed: int = 0
) -> pl.DataFrame:
    """``requests`` identical creates with one Idempotency-Key on as many threads at once.
    One row per request: ``request``, ``payment_id``, ``replayed``, ``amount_minor``."""
    if not 1 <= requests <= REQUESTS_MAX:
        raise ValueError(f"requests must be 1..{REQUESTS_MAX}")
    config = EngineConfig(idempotency=idempotency, seed_default_fraud_rules=False)
    engine = Engine(
        open_store(":memory:"), clock=SimulatedClock(START), ids=SeededIds(seed), config=config
    )
    with engine:
        tenant = engine.register_tenant("Shop", "dev@shop.test").tenant

        def send(_: int) -> tuple[str, bool, int]:
            out = engine.create_payment(
                tenant.id, amount=amount, currency="USD", webhook_url=HOOK,
                idempotency_key="order-4711",
            )  # fmt: skip
            return out.value.id, out.replayed, out.value.amount_minor

        with ThreadPoolExecutor(max_workers=requests) as pool:
            rows = list(pool.map(send, range(requests)))
    return pl.DataFrame(
        [(i, *row) for i, row in enumerate(rows)],
        schema=["request", "payment_id", "replayed", "amount_minor"],
        orient="row",
    )


def charges(storm: pl.DataFrame) -> dict[str, int]:
    """What the customer sees: payments created, total charged (minor units), replays."""
    payments = storm.unique("payment_id")
    return {
        "requests": storm.height,
        "payments": payments.height,
        "charged_minor": int(payments["amount_minor"].sum()),
        "replayed": int(storm["replayed"].sum()),
    }
