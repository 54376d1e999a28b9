"""Simulated webhook receivers: deterministic, on the injected clock, no sockets.

A ``ReceiverModel`` describes a receiver's behaviour (outage windows, error and timeout
rates, latency, whether it processes a delivery before failing it, whether it dedupes on
``webhook-id``). ``SimulatedTransport`` routes the dispatcher's requests to receivers by URL
and answers as they would, drawing every random choice from one seeded RNG, so a delivery
run replays exactly. It is an ``httpx.BaseTransport``: the dispatcher cannot tell it from
the network.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Final, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from mockpay_core.clock import Clock
from mockpay_core.delivery.dispatcher import LATENCY_EXTENSION

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


def _timeout(request: httpx.Request, latency_s: float) -> httpx.ReadTimeout:
    exc = httpx.ReadTimeout("simulated receiver timed out", request=request)
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

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        receiver = self.receivers.get(str(request.url)) or self.receivers.get("*")
        if receiver is None:
            raise httpx.ConnectError("connection refused (no simulated receiver)", request=request)
        body = request.read()
        payload = json.loads(body)
        webhook_id = request.headers["webhook-id"]
        applied_before = receiver.effects_applied
        outcome, response = self._answer(receiver, request, webhook_id, payload)
        seen = Received(
            webhook_id, payload.get("event", ""), payload.get("payment_id", ""),
            self._clock.now(), outcome, receiver.effects_applied > applied_before,
        )  # fmt: skip
        if receiver.sink is not None:
            receiver.sink(seen)
        elif len(receiver.received) < RECEIVED_MAX:
            receiver.received.append(seen)
        if isinstance(response, Exception):
            raise response
        return response

    def _answer(
        self,
        receiver: SimulatedReceiver,
        request: httpx.Request,
        webhook_id: str,
        payload: dict[str, Any],
    ) -> tuple[str, httpx.Response | Exception]:
        model, now, rng = receiver.model, self._clock.now(), self._rng
        latency_s = model.latency.draw_s(rng)
        draw = rng.random()
        for outage in model.outages:
            if outage.start <= now < outage.end:
                if outage.mode == "refuse":
                    return "refused", httpx.ConnectError("connection refused", request=request)
                if outage.mode == "timeout":
                    return "timeout", _timeout(request, self._timeout_s)
                return "error_503", self._respond(503, latency_s, model.retry_after_s)
        if model.gone:
            return "gone", self._respond(410, latency_s)
        if latency_s > self._timeout_s or draw < model.timeout_rate:
            if model.processes_before_failing:
                receiver._process(webhook_id)
            return "timeout", _timeout(request, self._timeout_s)
        if draw < model.timeout_rate + model.reset_rate:
            return "reset", httpx.RemoteProtocolError("connection reset by peer", request=request)
        if draw < model.timeout_rate + model.reset_rate + model.error_rate:
            if model.processes_before_failing:
                receiver._process(webhook_id)
            status = model.error_status
            retry_after = model.retry_after_s if status in (429, 503) else None
            return f"error_{status}", self._respond(status, latency_s, retry_after)
        return receiver._process(webhook_id), self._respond(200, latency_s)

    @staticmethod
    def _respond(status: int, latency_s: float, retry_after_s: int | None = None) -> httpx.Response:
        headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else {}
        return httpx.Response(
            status, headers=headers, content=b'{"ok":true}' if status == 200 else b"simulated",
            extensions={LATENCY_EXTENSION: latency_s},
        )  # fmt: skip
