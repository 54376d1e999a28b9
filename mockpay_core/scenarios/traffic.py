"""Traffic: when requests arrive and what they carry, drawn from the scenario's seeded RNG."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from mockpay_core.domain.money import CURRENCY_EXPONENTS
from mockpay_core.scenarios.model import AmountSpec, PhaseSpec


def arrivals(phase: PhaseSpec, start: datetime, rng: random.Random) -> Iterator[datetime]:
    """Arrival times of a phase, lazily (a long phase never sits in memory). A constant rate
    gives exactly ``duration x rate`` arrivals, the first at the phase's start."""
    assert phase.arrival is not None
    rate, begin = phase.arrival.rate_per_s, start + phase.start
    duration_s = phase.duration.total_seconds()
    if phase.arrival.kind == "constant":
        for k in range(round(duration_s * rate)):
            yield begin + timedelta(seconds=k / rate)
        return
    offset_s = rng.expovariate(rate)
    while offset_s < duration_s:
        yield begin + timedelta(seconds=offset_s)
        offset_s += rng.expovariate(rate)


def amount(spec: AmountSpec, currency: str, rng: random.Random) -> Decimal:
    """An amount in major units with the currency's decimals (never below one minor unit)."""
    if spec.kind == "constant":
        raw = spec.value
    elif spec.kind == "uniform":
        raw = rng.uniform(spec.min, spec.max)
    else:
        raw = min(spec.value * rng.lognormvariate(0, spec.sigma), 10_000_000)
    quantum = Decimal(1).scaleb(-CURRENCY_EXPONENTS[currency])
    return max(Decimal(str(raw)).quantize(quantum, rounding=ROUND_HALF_UP), quantum)


def choose(weights: dict[str, float], rng: random.Random) -> str:
    names = sorted(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def customer(phase: PhaseSpec, rng: random.Random) -> str | None:
    spec = phase.customers
    if spec is None:
        return None
    if spec.ids:
        return spec.ids[rng.randrange(len(spec.ids))]
    return f"{spec.prefix}{rng.randrange(spec.count)}"
