"""Simulated webhook receivers: deterministic, on the injected clock, no sockets.

A ``ReceiverModel`` describes a receiver's behaviour (outage windows, error and timeout
rates, latency, whether it processes a delivery before failing it, whether it dedupes on
``webhook-id``). ``SimulatedTransport`` routes the dispatcher's requests to receivers by URL
and answers as they would, drawing every random choice from one seeded RNG, so a delivery
run replays exactly. It is a ``WebhookPoster`` (what the dispatcher posts through, with no
HTTP objects built) and an ``httpx.BaseTransport`` (for any httpx client); both answer the
same way and fail with the same httpx exceptions as the network.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Final, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from mockpay_core.clock import Clock
from mockpay_core.delivery.transport import LATENCY_EXTENSION, Reply

Rate = Annotated[float, Field(ge=0, le=1)]
RECEIVED_MAX: Final = 10_000_000


class Outage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: datetime
    end: datetime
    mode: Literal["refuse", "status_503", "timeout"] = "refuse"


class Latency(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["constant", "uniform", "lognormal"] = "constant"
    ms: Annotated[float, Field(ge=0, le=600_000)] = 20.0  # constant; lognormal median
    max_ms: Annotated[float, Field(ge=0, le=600_000)] = 100.0  # uniform upper bound
    sigma: Annotated[float, Field(ge=0, le=5)] = 0.5  # lognormal spread

    def draw_s(self, rng: random.Random) -> float:
        if self.kind == "constant":
            return self.ms / 1000
        if self.kind == "uniform":
            return rng.uniform(self.ms, self.max_ms) / 1000
        return self.ms * rng.lognormvariate(0, self.sigma) / 1000


class ReceiverModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    outages: tuple[Outage, ...] = ()
    error_rate: Rate = 0.0
    error_status: Annotated[int, Field(ge=300, le=599)] = 500
    timeout_rate: Rate = 0.0
    reset_rate: Rate = 0.0
    latency: Latency = Latency()
    processes_before_failing: bool = False  # the flapping receiver: effect, then a 500
    dedupe: bool = True  # apply each webhook-id's effect once
    gone: bool = False  # answer 410 Gone to everything
    retry_after_s: Annotated[int, Field(ge=0, le=86400)] | None = None  # with 429/503


@dataclass(frozen=True, slots=True)
class Received:
    webhook_id: str
    event_type: str
    payment_id: str
    at: datetime
    outcome: str  # processed, duplicate, error_<status>, timeout, reset, refused, gone
    applied: bool  # this request applied the webhook's effect (even if it then failed)


@dataclass
class SimulatedReceiver:
    """A receiver's state: the ids it processed, and every request it got (to ``received``,
    or to ``sink`` when given, so long runs need not keep them in memory)."""

    model: ReceiverModel
    received: list[Received] = field(default_factory=list)
    processed: set[str] = field(default_factory=set)  # webhook-ids whose effect was applied
    effects_applied: int = 0  # with dedupe off, duplicates apply again
    sink: Callable[[Received], None] | None = None

    def _process(self, webhook_id: str) -> str:
        if self.model.dedupe and webhook_id in self.processed:
            return "duplicate"
        self.processed.add(webhook_id)
        self.effects_applied += 1
        return "processed"


def _timeout(latency_s: float) -> httpx.ReadTimeout:
    exc = httpx.ReadTimeout("simulated receiver timed out")
    setattr(exc, LATENCY_EXTENSION, latency_s)
    return exc


class SimulatedTransport(httpx.BaseTransport):
    """Routes requests to simulated receivers by URL (``"*"``: every other URL)."""

    def __init__(
        self,
        receivers: dict[str, SimulatedReceiver],
        clock: Clock,
        rng: random.Random,
        timeout_s: float = 5.0,
    ) -> None:
        self.receivers, self._clock, self._rng, self._timeout_s = receivers, clock, rng, timeout_s

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Reply:
        receiver = self.receivers.get(url) or self.receivers.get("*")
        if receiver is None:
            raise httpx.ConnectError("connection refused (no simulated receiver)")
        payload = json.loads(body)
        webhook_id = headers["webhook-id"]
        applied_before = receiver.effects_applied
        outcome, reply = self._answer(receiver, webhook_id)
        seen = Received(
            webhook_id, payload.get("event", ""), payload.get("payment_id", ""),
            self._clock.now(), outcome, receiver.effects_applied > applied_before,
        )  # fmt: skip
        if receiver.sink is not None:
            receiver.sink(seen)
        elif len(receiver.received) < RECEIVED_MAX:
            receiver.received.append(seen)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            reply = self.post(str(request.url), request.read(), headers, self._timeout_s)
        except httpx.RequestError as exc:
            exc.request = request
            raise
        return httpx.Response(
            reply.status_code, content=reply.excerpt.encode(),
            headers={"Retry-After": reply.retry_after} if reply.retry_after else {},
            extensions={LATENCY_EXTENSION: reply.latency_s},
        )  # fmt: skip

    def _answer(
        self, receiver: SimulatedReceiver, webhook_id: str
    ) -> tuple[str, Reply | Exception]:
        model, now, rng = receiver.model, self._clock.now(), self._rng
        latency_s = model.latency.draw_s(rng)
        draw = rng.random()
        for outage in model.outages:
            if outage.start <= now < outage.end:
                if outage.mode == "refuse":
                    return "refused", httpx.ConnectError("connection refused")
                if outage.mode == "timeout":
                    return "timeout", _timeout(self._timeout_s)
                return "error_503", _reply(503, latency_s, model.retry_after_s)
        if model.gone:
            return "gone", _reply(410, latency_s)
        if latency_s > self._timeout_s or draw < model.timeout_rate:
            if model.processes_before_failing:
                receiver._process(webhook_id)
            return "timeout", _timeout(self._timeout_s)
        if draw < model.timeout_rate + model.reset_rate:
            return "reset", httpx.RemoteProtocolError("connection reset by peer")
        if draw < model.timeout_rate + model.reset_rate + model.error_rate:
            if model.processes_before_failing:
                receiver._process(webhook_id)
            status = model.error_status
            retry_after = model.retry_after_s if status in (429, 503) else None
            return f"error_{status}", _reply(status, latency_s, retry_after)
        return receiver._process(webhook_id), _reply(200, latency_s)


def _reply(status: int, latency_s: float, retry_after_s: int | None = None) -> Reply:
    return Reply(
        status, None if retry_after_s is None else str(retry_after_s),
        '{"ok":true}' if status == 200 else "simulated", latency_s,
    )  # fmt: skip
