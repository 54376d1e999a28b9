"""The scenario file format: pydantic models, every one ``extra="forbid"`` (a typo is an error).

Times inside a scenario are offsets from its clock's start: a number of seconds or a string
such as ``"500ms"``, ``"90s"``, ``"30m"``, ``"6h"``, ``"7d"``. ``mockpay scenario schema``
prints the JSON Schema of ``Scenario`` for editor completion.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from mockpay_core.delivery.simulated import Latency
from mockpay_core.domain.fraud import RuleSpec
from mockpay_core.domain.retry import PRESETS, RetrySchedule

_UNITS_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*")
RUN_SPAN_MAX = timedelta(days=366)


def _duration(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a duration is seconds or a string like '90s', '30m', '6h', '7d'")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration like '500ms', '90s', '30m', '6h', '7d'")
        return timedelta(seconds=float(match.group(1)) * _UNITS_S[match.group(2)])
    return value


def _bounded(value: timedelta) -> timedelta:
    if not timedelta(0) <= value <= RUN_SPAN_MAX:
        raise ValueError("must be between 0 and 366 days")
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_bounded)]
Probability = Annotated[float, Field(ge=0, le=1)]
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
Count = Annotated[int, Field(ge=1, le=10_000_000)]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClockSpec(Spec):
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    @model_validator(mode="after")
    def _aware(self) -> ClockSpec:
        if self.start.tzinfo is None:
            raise ValueError("start needs a time zone, e.g. 2026-01-01T00:00:00Z")
        return self


class EngineSpec(Spec):
    default_fraud_rules: bool = True
    fraud_rules: list[RuleSpec] = []
    retry_schedule: Literal["standard_webhooks", "original"] | RetrySchedule = "standard_webhooks"
    webhook_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    authorization_ttl: Duration = timedelta(days=7)
    idempotency_ttl: Duration = timedelta(hours=24)
    settlement_delay: Duration = timedelta(days=2)
    payout_failure_p: Probability = 0.0

    def schedule(self) -> RetrySchedule:
        s = self.retry_schedule
        return PRESETS[s] if isinstance(s, str) else s


class TenantSpec(Spec):
    name: Name
    email: str | None = None
    receiver: Name = "main"


class OutageSpec(Spec):
    start: Duration
    end: Duration
    mode: Literal["refuse", "status_503", "timeout"] = "refuse"


class ReceiverSpec(Spec):
    name: Name
    outages: list[OutageSpec] = []
    error_rate: Probability = 0.0
    error_status: Annotated[int, Field(ge=300, le=599)] = 500
    timeout_rate: Probability = 0.0
    reset_rate: Probability = 0.0
    latency: Latency = Latency()
    processes_before_failing: bool = False
    dedupe: bool = True
    gone: bool = False
    retry_after_s: Annotated[int, Field(ge=0, le=86400)] | None = None


class AmountSpec(Spec):
    kind: Literal["constant", "uniform", "lognormal"] = "constant"
    value: Annotated[float, Field(gt=0, le=10_000_000)] = 100.0  # constant; lognormal median
    min: Annotated[float, Field(gt=0, le=10_000_000)] = 1.0
    max: Annotated[float, Field(gt=0, le=10_000_000)] = 1000.0
    sigma: Annotated[float, Field(ge=0, le=5)] = 1.0


class ArrivalSpec(Spec):
    kind: Literal["constant", "poisson"] = "constant"
    rate_per_s: Annotated[float, Field(gt=0, le=100_000)]


class BurstSpec(Spec):
    """``count`` requests at once from ``concurrency`` real threads."""

    count: Count
    concurrency: Annotated[int, Field(ge=1, le=256)] = 16


class ClientRetrySpec(Spec):
    """Clients that resend a request with the same idempotency key."""

    share: Probability = 0.0
    delay: Duration = timedelta(seconds=1)


class CaptureSpec(Spec):
    p: Probability = 1.0
    share: Annotated[float, Field(gt=0, le=1)] = 1.0
    delay: Duration = timedelta(minutes=1)


class RefundSpec(Spec):
    p: Probability = 0.0
    share: Annotated[float, Field(gt=0, le=1)] = 1.0
    delay: Duration = timedelta(hours=1)


class DisputeSpec(Spec):
    p: Probability = 0.0
    lose_p: Probability = 0.5
    delay: Duration = timedelta(days=1)
    resolve_after: Duration = timedelta(days=7)


class ReviewSpec(Spec):
    p: Probability = 0.0  # share of flagged payments an admin reviews
    approve_p: Probability = 0.5
    delay: Duration = timedelta(minutes=10)


class OutcomeSpec(Spec):
    """What happens to each created payment afterwards."""

    success_p: Probability = 1.0
    delay: Duration = timedelta(seconds=2)
    failure_code: Literal[
        "card_declined", "insufficient_funds", "expired_card", "processing_error"
    ] = "card_declined"
    cancel_p: Probability = 0.0
    capture: CaptureSpec = CaptureSpec()
    refund: RefundSpec = RefundSpec()
    dispute: DisputeSpec = DisputeSpec()
    review: ReviewSpec = ReviewSpec()


class CustomersSpec(Spec):
    count: Count = 100
    prefix: Annotated[str, Field(max_length=50)] = "cus_"
    ids: list[str] = []  # fixed customers instead of a generated population


class PhaseSpec(Spec):
    """A stream of create requests from one tenant's clients, and what follows each."""

    name: Name
    tenant: Name
    start: Duration = timedelta(0)
    duration: Duration = timedelta(minutes=1)
    arrival: ArrivalSpec | None = None
    burst: BurstSpec | None = None
    amount: AmountSpec = AmountSpec()
    currencies: dict[str, Probability] = {"USD": 1.0}
    customers: CustomersSpec | None = None
    same_key: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    capture_method: Literal["automatic", "manual"] = "automatic"
    client_retries: ClientRetrySpec = ClientRetrySpec()
    outcome: OutcomeSpec = OutcomeSpec()

    @model_validator(mode="after")
    def _one_source(self) -> PhaseSpec:
        if (self.arrival is None) == (self.burst is None):
            raise ValueError("a phase has either an arrival process or a burst")
        return self


class StepSpec(Spec):
    """One scripted request (``repeat`` times, on ``concurrency`` threads at once)."""

    at: Duration = timedelta(0)
    do: Literal[
        "create", "simulate", "capture", "cancel", "refund", "open_dispute", "resolve_dispute",
        "review", "rotate_secret", "run_due",
    ]  # fmt: skip
    tenant: Name
    payment: str | None = None  # the idempotency key the payment was created with
    key: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    amount: Annotated[float, Field(gt=0, le=10_000_000)] | None = None
    currency: str = "USD"
    capture_method: Literal["automatic", "manual"] = "automatic"
    customer: str | None = None
    status: Literal["success", "failed"] = "success"
    outcome: Literal["won", "lost"] = "lost"
    decision: Literal["approve", "reject"] = "approve"
    reason: str | None = None
    repeat: Annotated[int, Field(ge=1, le=10_000)] = 1
    concurrency: Annotated[int, Field(ge=1, le=256)] = 1
    vary_key: bool = False  # with repeat: key-0, key-1, ... instead of one key


class FaultSpec(Spec):
    kind: Literal["crash", "database_busy", "clock_jump", "tamper_audit"]
    at: Duration = timedelta(0)
    by: Duration = timedelta(0)  # clock_jump
    count: Annotated[int, Field(ge=1, le=1000)] = 1  # database_busy: refused units of work
    sql: str | None = None  # tamper_audit: run behind the triggers' back, after the run


class ExpectationSpec(Spec):
    """SQL over the run's tables in DuckDB; the first column of the first row is compared."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    sql: Annotated[str, Field(min_length=1)]
    op: Literal["==", "!=", "<", "<=", ">", ">="] = "=="
    value: Any = None


SWEEP_SEEDS_MAX = 10_000


class SweepSpec(Spec):
    """What ``mockpay sweep`` varies: each ``parameters`` path (a field path of this file,
    e.g. ``engine.fraud_rules.0.threshold``) over its values, every combination, each played
    with ``seeds`` seeds (a count: the file's seed and the ones after it; or a list); and
    ``metrics`` collected from each run (name: SQL giving one value, as in expectations)."""

    parameters: dict[str, Annotated[list[Any], Field(min_length=1)]] = {}
    seeds: Annotated[int, Field(ge=1, le=SWEEP_SEEDS_MAX)] | list[int] = 1
    metrics: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")], str] = {}


class Scenario(Spec):
    name: Name
    description: str = ""
    seed: int = 0
    clock: ClockSpec = ClockSpec()
    engine: EngineSpec = EngineSpec()
    tenants: Annotated[list[TenantSpec], Field(min_length=1)]
    receivers: list[ReceiverSpec] = [ReceiverSpec(name="main")]
    phases: list[PhaseSpec] = []
    steps: list[StepSpec] = []
    faults: list[FaultSpec] = []
    settle: Duration = timedelta(days=3)  # keep delivering this long after the last request
    expectations: list[ExpectationSpec] = []
    sweep: SweepSpec | None = (
        None  # read by ``mockpay sweep``; ``mockpay run`` plays the file as is
    )

    @model_validator(mode="after")
    def _names_resolve(self) -> Scenario:
        tenants = {t.name for t in self.tenants}
        receivers = {r.name for r in self.receivers}
        for t in self.tenants:
            if t.receiver not in receivers:
                raise ValueError(
                    f"tenant {t.name!r} names receiver {t.receiver!r}, which is not defined"
                )
        for named in [p.tenant for p in self.phases] + [s.tenant for s in self.steps]:
            if named not in tenants:
                raise ValueError(f"{named!r} is not one of the tenants: {sorted(tenants)}")
        return self
