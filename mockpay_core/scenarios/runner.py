"""Playing a scenario on the engine: an agenda of timed actions on a simulated clock.

The runner pops the earliest action, moves the clock to it (delivering whatever webhooks
fall due on the way, as a worker polling every ``POLL`` would), performs it, and repeats;
then it keeps delivering for ``settle``. Every random draw comes from RNGs seeded by the
scenario's ``seed`` and every action runs in a fixed order, so a scenario without
concurrent phases replays byte for byte. Bursts and concurrent steps use real threads;
their results are handled in request order afterwards.
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import itertools
import random
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from mockpay_core.clock import SimulatedClock
from mockpay_core.config import DeliveryConfig, EngineConfig, LedgerConfig
from mockpay_core.delivery.dispatcher import Dispatcher
from mockpay_core.delivery.simulated import (
    Outage,
    ReceiverModel,
    SimulatedReceiver,
    SimulatedTransport,
)
from mockpay_core.domain.model import Payment
from mockpay_core.engine import Engine
from mockpay_core.errors import MockPayError, StorageBusy
from mockpay_core.ids import SeededIds
from mockpay_core.scenarios.faults import FaultyStore, SimulatedCrash
from mockpay_core.scenarios.model import FaultSpec, Scenario, TenantSpec
from mockpay_core.scenarios.requests import Request, RequestLog
from mockpay_core.scenarios.target import Action, Target
from mockpay_core.storage.open import is_postgres_url, open_store, split_schema
from mockpay_core.storage.protocol import Store

POLL: Final = timedelta(milliseconds=200)  # how often a worker looks for due webhooks
RUN_DUE_EVERY: Final = timedelta(seconds=1)
CLIENT_RETRY_DELAY: Final = timedelta(seconds=1)
CLIENT_ATTEMPTS_MAX: Final = 5
BATCH_SIZE: Final = 200


def next_stop(
    delivery: datetime | None, expiry: datetime | None, now: datetime, last_poll: datetime
) -> datetime | None:
    """Where a clock driver must stop next: the next expiry, or the next webhook due as a
    worker polling every ``POLL`` since ``last_poll`` would see it; never before ``now``."""
    polled = None if delivery is None else max(delivery, last_poll + POLL)
    stops = [t for t in (expiry, polled) if t is not None]
    return max(min(stops), now) if stops else None


class ScenarioError(ValueError):
    """A scenario that is valid on paper but cannot be played (e.g. an unknown payment)."""


class World:
    """The engine, clock, receivers and dispatcher of one run, and its agenda."""

    def __init__(
        self, scenario: Scenario, run_dir: Path, memory: bool, db: str | None = None
    ) -> None:
        self.scenario = s = scenario
        self.start = s.clock.start
        self.clock = SimulatedClock(self.start)
        self.ids = SeededIds(s.seed)
        self.rng = random.Random(s.seed)
        self._db_path = ":memory:" if memory else str(run_dir / "mockpay.db")
        self._postgres = run_schema(db, s.name) if db and is_postgres_url(db) else None
        self.store = FaultyStore(self._open(fresh=True))
        self.config = EngineConfig(
            authorization_ttl_s=int(s.engine.authorization_ttl.total_seconds()) or 1,
            idempotency_ttl_s=int(s.engine.idempotency_ttl.total_seconds()) or 1,
            seed_default_fraud_rules=s.engine.default_fraud_rules,
            delivery=DeliveryConfig(
                schedule=s.engine.schedule(), timeout_s=s.engine.webhook_timeout_s,
                batch_size=BATCH_SIZE,
            ),
            ledger=LedgerConfig(
                settlement_delay_s=int(s.engine.settlement_delay.total_seconds()),
                payout_failure_p=s.engine.payout_failure_p,
            ),
        )  # fmt: skip
        self.engine = Engine(self.store, clock=self.clock, ids=self.ids, config=self.config)
        self.log = RequestLog(":memory:" if memory else str(run_dir / "client.db"))
        self.receivers: dict[str, SimulatedReceiver] = {}
        routes = {}
        for spec in s.receivers:
            fields = spec.model_dump(exclude={"name", "outages", "latency"})
            outages = tuple(
                Outage(start=self.start + o.start, end=self.start + o.end, mode=o.mode)
                for o in spec.outages
            )
            model = ReceiverModel(outages=outages, latency=spec.latency, **fields)
            receiver = SimulatedReceiver(
                model, sink=functools.partial(self.log.received, spec.name)
            )
            self.receivers[spec.name] = receiver
            routes[self.url(spec.name)] = receiver
        self.transport = SimulatedTransport(
            routes, self.clock, random.Random(s.seed + 1), s.engine.webhook_timeout_s
        )
        self.dispatcher = self._dispatcher("scenario-dispatcher")
        self.agenda: list[tuple[datetime, int, Action]] = []
        self._order = itertools.count()
        self.last_poll = self.start - POLL
        self.last_due = self.start
        self.doomed_dispatch = False
        self._due: tuple[datetime | None, datetime | None] | None = None

    def changed(self) -> None:
        """Something may have scheduled a webhook or an expiry: ask the engine again."""
        self._due = None

    def due_times(self) -> tuple[datetime | None, datetime | None]:
        """The engine's due times, read once per change instead of once per clock stop."""
        if self._due is None:
            self._due = self.engine.due_times()
        return self._due

    @staticmethod
    def tenant_email(spec: TenantSpec) -> str:
        return spec.email or f"{spec.name}@scenario.test"

    @staticmethod
    def url(receiver: str) -> str:
        return f"http://{receiver}.receiver.test/webhooks"

    def flush(self) -> None:
        """Commit the open group of units of work (``group_commit``) before others look."""
        self.store.flush()

    def _dispatcher(self, owner: str) -> Dispatcher:
        return self.engine.dispatcher(
            transport=self.transport, rng=random.Random(self.scenario.seed + 2), owner=owner,
            timer=lambda: 0.0,
        )  # fmt: skip

    def at(self, when: datetime, action: Action) -> None:
        heapq.heappush(self.agenda, (when, next(self._order), action))

    def later(self, delay: timedelta, action: Action) -> None:
        self.at(self.clock.now() + delay, action)

    def advance_to(self, when: datetime) -> None:
        """Move the clock to ``when``, stopping wherever something falls due on the way: a
        webhook (delivered as a worker polling every ``POLL`` would) or an authorization's
        expiry (swept at that very instant)."""
        for _ in range(10_000_000):
            delivery, expiry = self.due_times()
            now = self.clock.now()
            stop = next_stop(delivery, expiry, now, self.last_poll)
            if stop is None or stop > when:
                if now >= when:
                    return
                self._tick(when)
                continue
            self._tick(stop)
            if expiry is not None and expiry <= stop:
                self.engine.expire_authorizations()
                self.changed()
            if delivery is not None and delivery <= stop and self.last_poll + POLL <= stop:
                self._deliver()
                self.last_poll = stop

    def _deliver(self) -> None:
        if self.doomed_dispatch:  # a worker sends this batch and dies before recording it
            self.doomed_dispatch = False
            doomed = self._dispatcher("crashed-dispatcher")
            doomed.run_once(record=False)
            doomed.close()
        self.dispatcher.run_until_idle()
        self.changed()

    def _tick(self, when: datetime) -> None:
        self.clock.set(max(when, self.clock.now()))
        if self.clock.now() - self.last_due >= RUN_DUE_EVERY:
            self.engine.run_due()
            self.last_due = self.clock.now()
            self.changed()

    def restart(self) -> None:
        """The engine process dies and comes back: new connections, new engine, new worker."""
        self.dispatcher.close()
        if self._postgres or self._db_path != ":memory:":
            self.store.inner.close()
            self.store.inner = self._open()
        self.engine = Engine(self.store, clock=self.clock, ids=self.ids, config=self.config)
        self.dispatcher = self._dispatcher("scenario-dispatcher-restarted")
        self.changed()

    def _open(self, fresh: bool = False) -> Store:
        """The run's store; ``fresh``: emptied first, as a new run starts from nothing."""
        if self._postgres is None:
            return open_store(self._db_path, simulation=True, reset=fresh)
        url, schema = self._postgres
        return open_store(url, simulation=True, reset=fresh, schema=schema)


def run_schema(db: str, scenario_name: str) -> tuple[str, str]:
    """(url, schema) of a run on PostgreSQL: the URL's ``?schema=``, else ``run_<name>``."""
    url, schema = split_schema(db)
    return url, schema or "run_" + re.sub(r"[^a-z0-9_]", "_", scenario_name.lower())[:58]


class Client:
    """Sends requests for the scenario's simulated clients: logs, retries, follows up."""

    def __init__(self, world: Target) -> None:
        self.w = world
        self.crash_next = 0
        self.busy_next = 0

    def send(self, req: Request) -> None:
        self._arm_faults()
        try:
            result = req.send()
        except MockPayError as exc:
            self.settle(req, exc)
            return
        self.settle(req, result)

    def send_all(self, requests: list[Request], concurrency: int) -> None:
        """Requests at once on real threads; results handled in request order."""

        def attempt(req: Request) -> Any:
            try:
                return req.send()
            except MockPayError as exc:
                return exc

        for _ in requests:
            self._arm_faults()
        self.w.flush()  # the threads' own connections must see every write so far
        with ThreadPoolExecutor(max_workers=min(concurrency, len(requests))) as pool:
            results = list(pool.map(attempt, requests))
        for req, result in zip(requests, results, strict=True):
            self.settle(req, result)

    def _arm_faults(self) -> None:
        if not (self.crash_next or self.busy_next):
            return
        assert isinstance(self.w, World), "faults are played in process only"
        if self.crash_next:
            self.crash_next -= 1
            self.w.store.crash_next += 1
        else:
            self.busy_next -= 1
            self.w.store.busy_next += 1

    def settle(self, req: Request, result: Any) -> None:
        now = self.w.clock.now()
        if isinstance(result, MockPayError):
            self.w.log.request(
                now, req, ok=False, replayed=result.replayed, response=result.to_record(),
                error_code=result.code,
            )  # fmt: skip
            transient = isinstance(result, StorageBusy | SimulatedCrash)
            if transient and req.attempt < CLIENT_ATTEMPTS_MAX:
                retry = dataclasses.replace(req, attempt=req.attempt + 1)
                self.w.later(CLIENT_RETRY_DELAY, lambda: self.send(retry))
            return
        value = result.value
        payment: Payment = value if isinstance(value, Payment) else value.payment
        self.w.log.request(
            now, req, ok=True, replayed=result.replayed,
            response=value.to_data() if result.data is None else result.data,
            payment_id=payment.id, status=payment.status.value,
        )  # fmt: skip
        if req.then is not None and not result.replayed:
            req.then(result)


def apply_fault(world: Target, client: Client, fault: FaultSpec) -> None:
    if fault.kind == "clock_jump":
        world.advance_to(world.clock.now() + fault.by)
        world.engine.run_due()
        return
    assert isinstance(world, World), "crashes and a busy database are played in process only"
    if fault.kind == "crash":
        world.doomed_dispatch = True  # the worker dies with its next batch unrecorded
        client.crash_next += 1  # the next request dies before COMMIT
        world.restart()
    elif fault.kind == "database_busy":
        client.busy_next += fault.count
