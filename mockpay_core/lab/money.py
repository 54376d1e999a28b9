"""Money, for notebook 9: authorize and capture, expiry, disputes and minor units, each on a
fresh engine on a simulated clock, each returning what the money did.

Amounts go in as the engine takes them (major units: a number, never a string) and come back
in minor units (cents, yen), the integers the engine stores.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from mockpay_core import analysis
from mockpay_core.clock import SimulatedClock
from mockpay_core.config import EngineConfig
from mockpay_core.domain.money import CURRENCY_EXPONENTS, parse_currency, to_minor
from mockpay_core.engine import Engine
from mockpay_core.errors import MockPayError
from mockpay_core.ids import SeededIds

HOOK = "http://shop.receiver.test/webhooks"
START = datetime(2026, 1, 1, tzinfo=UTC)
MONEY = ("amount_minor", "captured_minor", "refunded_minor", "disputed_minor")


def _engine(clock: SimulatedClock) -> tuple[Engine, str]:
    config = EngineConfig(seed_default_fraud_rules=False)
    engine = Engine.open(":memory:", clock=clock, ids=SeededIds(9), config=config)
    return engine, engine.register_tenant("Shop", "dev@shop.test").tenant.id


def _settled(engine: Engine, tenant: str, key: str, **request: Any) -> str:
    """A payment created with ``request`` and settled as a success (authorized, for a
    manual capture); its id."""
    pay = engine.create_payment(tenant, webhook_url=HOOK, idempotency_key=key, **request)
    engine.simulate(tenant, pay.value.id, "success")
    return pay.value.id


def _money(engine: Engine, tenant: str, pay_id: str) -> dict[str, Any]:
    p = engine.get_payment(tenant, pay_id)
    return {"status": p.status.value, **{k: getattr(p, k) for k in MONEY}}


def authorize_and_capture(amount: float, capture: float, currency: str = "USD") -> dict[str, Any]:
    """A manual-capture payment of ``amount``, authorized, then ``capture`` of it taken:
    the money at each step, and what was released (authorized but never taken)."""
    clock = SimulatedClock(START)
    engine, tenant = _engine(clock)
    with engine:
        pay_id = _settled(engine, tenant, "hotel-1", amount=amount, currency=currency,
                          capture_method="manual")  # fmt: skip
        authorized = _money(engine, tenant, pay_id)
        engine.capture(tenant, pay_id, amount=capture)
        captured = _money(engine, tenant, pay_id)
    released = captured["amount_minor"] - captured["captured_minor"]
    return {"authorized": authorized, "captured": captured, "released_minor": released}


def expiry(after: timedelta) -> list[dict[str, Any]]:
    """An authorization nobody captures, the clock moved on by ``after`` in steps of a day,
    the engine's due work run at each step: its status day by day."""
    clock = SimulatedClock(START)
    engine, tenant = _engine(clock)
    with engine:
        pay_id = _settled(engine, tenant, "hotel-2", amount=120, currency="USD",
                          capture_method="manual")  # fmt: skip
        days = []
        for day in range(after.days + 1):
            engine.run_due()
            days.append({"day": day, **_money(engine, tenant, pay_id)})
            clock.advance(timedelta(days=1))
    return days


def dispute(outcome: str, amount: float = 100, disputed: float = 60) -> dict[str, Any]:
    """A captured payment of ``amount`` disputed for ``disputed``, the dispute ``won`` or
    ``lost``: the money before, during and after."""
    clock = SimulatedClock(START)
    engine, tenant = _engine(clock)
    with engine:
        pay_id = _settled(engine, tenant, f"order-{outcome}", amount=amount, currency="USD")
        steps = [{"step": "captured", **_money(engine, tenant, pay_id)}]
        engine.open_dispute(tenant, pay_id, amount=disputed)
        steps.append({"step": "disputed", **_money(engine, tenant, pay_id)})
        engine.resolve_dispute(tenant, pay_id, outcome)
        steps.append({"step": f"dispute {outcome}", **_money(engine, tenant, pay_id)})
    return {"outcome": outcome, "steps": steps}


def minor_units(amount: object, currency: str) -> dict[str, Any]:
    """What the engine makes of ``amount`` in ``currency``: its minor units, or the refusal."""
    row: dict[str, Any] = {"amount": repr(amount), "currency": currency, "decimals": None}
    try:
        code = parse_currency(currency)
        row["decimals"] = CURRENCY_EXPONENTS[code]
        return {**row, "minor": to_minor(amount, code), "refused": None}
    except MockPayError as exc:
        return {**row, "minor": None, "refused": exc.message}


def refund_storm(run: str) -> pl.DataFrame:
    """The refunds of a ``07-refund-storm`` run in the order they committed, with the running
    total refunded (minor units) and what was captured."""
    return analysis.query(
        run,
        "SELECT r.created_at, r.amount_minor, (sum(r.amount_minor) OVER (ORDER BY r.created_at,"
        " r.id))::BIGINT AS refunded_total_minor, p.captured_minor FROM refunds r"
        " JOIN payments p ON p.id = r.payment_id ORDER BY r.created_at, r.id",
    )


def as_major(amount_minor: int, currency: str = "USD") -> Decimal:
    """Minor units back to a Decimal in major units (never a float)."""
    return Decimal(amount_minor).scaleb(-CURRENCY_EXPONENTS[currency])
