"""Playing a scenario against a live server: ``mockpay run --target http://127.0.0.1:3000``.

The same planner and client send the same requests, through ``RemoteEngine``. The server
must run on a simulated clock, which the runner moves with ``POST /api/admin/clock/advance``,
stopping wherever something falls due (a webhook, an authorization's expiry) as it does in
process; the server then delivers to real receivers on 127.0.0.1 (``receivers``). At the
end the scenario's tenants' rows come back through ``GET /api/admin/export/{table}``, so
the same tables and the same expectation SQL work. What a server cannot be made to do from
outside is refused up front, one message per problem, naming the scenario's field.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import secrets
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import duckdb

from mockpay_core.clock import SimulatedClock
from mockpay_core.delivery.simulated import Outage, ReceiverModel, SimulatedReceiver
from mockpay_core.domain.fraud import DEFAULT_RULES, RuleSpec
from mockpay_core.domain.retry import RetrySchedule
from mockpay_core.scenarios import export
from mockpay_core.scenarios.export import Columns
from mockpay_core.scenarios.model import Scenario, TenantSpec
from mockpay_core.scenarios.plan import Planner
from mockpay_core.scenarios.receivers import HttpReceivers
from mockpay_core.scenarios.remote import RemoteEngine
from mockpay_core.scenarios.requests import TABLES as LOG_TABLES
from mockpay_core.scenarios.requests import RequestLog
from mockpay_core.scenarios.run import Progress, RunResult, play, report_run
from mockpay_core.scenarios.runner import POLL, Client, ScenarioError, next_stop
from mockpay_core.scenarios.source import EVENT_LOG_SQL, event_log_digest
from mockpay_core.scenarios.target import Action
from mockpay_core.storage.sql.schema import EXPORTED

PAGE_ROWS: Final = 5000
STOPS_MAX: Final = 10_000_000
IN_PROCESS_ONLY: Final = {
    "crash": "a live server cannot be made to die mid-transaction from outside",
    "database_busy": "a live server's database cannot be made busy from outside",
    "tamper_audit": "editing the audit log needs the database file, not the API",
}


class RemoteRefused(ScenarioError):
    """The scenario asks for what this server cannot do; ``problems`` says what, by field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("cannot run against this server:\n  " + "\n  ".join(problems))


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class ServerInfo:
    clock: str
    now: datetime
    config: dict[str, Any]
    global_rules: list[RuleSpec]  # active rules for every tenant

    @classmethod
    def fetch(cls, api: RemoteEngine) -> ServerInfo:
        clock = api.admin("GET", "/clock")
        # Fraud rules of no tenant ("-"): only those for every tenant come back.
        page = api.admin("GET", "/export/fraud_rules", params={"tenant_id": "-", "limit": 1000})
        names = [c for c, _ in page["columns"]]
        rules = [dict(zip(names, row, strict=True)) for row in page["rows"]]
        specs = [_rule_spec(r) for r in rules if r["tenant_id"] is None and r["is_active"]]
        return cls(clock["clock"], datetime.fromisoformat(clock["now_exact"]),
                   api.admin("GET", "/config"), specs)  # fmt: skip


def _rule_spec(row: dict[str, Any]) -> RuleSpec:
    fields = set(RuleSpec.model_fields) - {"is_active"}
    spec = {k: v for k, v in row.items() if k in fields and v is not None}
    spec["values"] = tuple(json.loads(row["values"] or "[]"))
    if row["threshold"] is not None:  # exact decimal text
        spec["threshold"] = Decimal(row["threshold"])
    return RuleSpec.model_validate(spec)


def refusals(s: Scenario, server: ServerInfo) -> list[str]:
    """Every reason this scenario cannot run on this server, by the scenario's field."""
    if server.clock != "simulated":
        return ["the server runs on the system clock: start it with `mockpay serve --clock"
                " simulated` (MOCKPAY_CLOCK=simulated) so the runner can move time"]  # fmt: skip
    problems = [
        f"faults.{i}.kind: {f.kind} runs only in process (--target engine):"
        f" {IN_PROCESS_ONLY[f.kind]}"
        for i, f in enumerate(s.faults)
        if f.kind in IN_PROCESS_ONLY
    ]
    c, e = server.config, s.engine
    theirs = RetrySchedule.model_validate(c["retry_schedule"])
    if e.schedule() != theirs:
        wanted = e.schedule()
        problems.append(f"engine.retry_schedule: the server retries after"
                        f" {list(theirs.delays_s)} s (jitter {theirs.jitter}), the scenario"
                        f" after {list(wanted.delays_s)} s (jitter {wanted.jitter})")  # fmt: skip
    settings = (("webhook_timeout_s", e.webhook_timeout_s, c["webhook_timeout_s"], ""),
                ("authorization_ttl", e.authorization_ttl.total_seconds(),
                 c["authorization_ttl_s"], " s"),
                ("idempotency_ttl", e.idempotency_ttl.total_seconds(), c["idempotency_ttl_s"],
                 " s"),
                ("settlement_delay", e.settlement_delay.total_seconds(),
                 c["settlement_delay_s"], " s"),
                ("payout_failure_p", e.payout_failure_p, c["payout_failure_p"], ""))  # fmt: skip
    for name, ours, server_value, unit in settings:
        if float(ours) != float(server_value):
            problems.append(f"engine.{name}: the server's is {server_value}{unit},"
                            f" the scenario's {ours:g}{unit}")  # fmt: skip
    if server.global_rules and set(server.global_rules) != set(DEFAULT_RULES):
        names = ", ".join(r.name for r in server.global_rules)
        problems.append(f"engine.default_fraud_rules: the server applies other fraud rules to"
                        f" every tenant ({names}); use a server without them")  # fmt: skip
    elif server.global_rules and not e.default_fraud_rules:
        problems.append("engine.default_fraud_rules: false, but the server applies the default"
                        " fraud rules to every tenant: start it on a new database with"
                        " MOCKPAY_DEFAULT_FRAUD_RULES=false")  # fmt: skip
    return problems


class RemoteWorld:
    """A run's world on a live server (``scenarios.target.Target``)."""

    def __init__(
        self, scenario: Scenario, run_dir: Path, api: RemoteEngine, server: ServerInfo
    ) -> None:
        self.scenario = s = scenario
        self.api = api
        self.start = max(server.now, s.clock.start)  # a simulated clock does not go back
        if self.start > s.clock.start:
            print(f"{s.name}: the server's clock is past clock.start; this run starts at"
                  f" {self.start.isoformat()}", file=sys.stderr)  # fmt: skip
        self.clock = SimulatedClock(server.now)
        self.rng = random.Random(s.seed)
        self.log = RequestLog(str(run_dir / "client.db"))
        self.tag = secrets.token_hex(4)  # tenants' emails are unique on a shared server
        models = {}
        for spec in s.receivers:
            fields = spec.model_dump(exclude={"name", "outages", "latency"})
            outages = tuple(Outage(start=self.start + o.start, end=self.start + o.end,
                                   mode=o.mode) for o in spec.outages)  # fmt: skip
            model = ReceiverModel(outages=outages, latency=spec.latency, **fields)
            models[spec.name] = SimulatedReceiver(model)
        self.receivers = HttpReceivers(
            models, self.clock, random.Random(s.seed + 1), self.log,
            lambda: [k for keys in api.secrets.values() for k in keys],
            float(server.config["webhook_timeout_s"]),
        )  # fmt: skip
        self.agenda: list[tuple[datetime, int, Action]] = []
        self._order = itertools.count()
        self.last_poll = self.start - POLL
        self._due: tuple[datetime | None, datetime | None] | None = None
        if self.start > server.now:
            self._advance(self.start)

    @property
    def engine(self) -> RemoteEngine:
        return self.api

    def url(self, receiver: str) -> str:
        return self.receivers.url(receiver)

    def tenant_email(self, spec: TenantSpec) -> str:
        return spec.email or f"{spec.name}.{self.tag}@scenario.test"

    def at(self, when: datetime, action: Action) -> None:
        heapq.heappush(self.agenda, (when, next(self._order), action))

    def later(self, delay: timedelta, action: Action) -> None:
        self.at(self.clock.now() + delay, action)

    def changed(self) -> None:
        self._due = None

    def flush(self) -> None:
        """Nothing to do: the server commits each request before it answers."""

    def due_times(self) -> tuple[datetime | None, datetime | None]:
        if self._due is None:
            self._remember(self.api.admin("GET", "/clock"))
        assert self._due is not None
        return self._due

    def _remember(self, clock: dict[str, Any]) -> None:
        self._due = (_time(clock["next_delivery_due"]), _time(clock["next_authorization_expiry"]))

    def _advance(self, when: datetime) -> None:
        """Move the server's clock to ``when``: it runs what is due, webhooks included."""
        seconds = (when - self.clock.now()).total_seconds()
        self.clock.set(when)  # first: the receivers answer at the new time
        self._remember(self.api.admin("POST", "/clock/advance", body={"seconds": seconds}))

    def advance_to(self, when: datetime) -> None:
        """As ``World.advance_to``: stop at each webhook due (polled every ``POLL``) and at
        each expiry; each stop is one clock advance of the server."""
        for _ in range(STOPS_MAX):
            delivery, expiry = self.due_times()
            now = self.clock.now()
            stop = next_stop(delivery, expiry, now, self.last_poll)
            if stop is None or stop > when:
                if now >= when:
                    return
                self._advance(when)
                continue
            self._advance(stop)
            if delivery is not None and delivery <= stop:
                self.last_poll = stop

    def close(self) -> None:
        self.receivers.close()
        self.log.close()


def run_remote(
    scenario: Scenario, out_dir: Path, url: str, admin_token: str,
    *, progress: Progress | None = None,
) -> RunResult:  # fmt: skip
    """Play ``scenario`` on the server at ``url``; tables land in ``out_dir/<name>/``."""
    api = RemoteEngine(url, admin_token)
    try:
        server = ServerInfo.fetch(api)
        problems = refusals(scenario, server)
        if problems:
            raise RemoteRefused(problems)
        run_dir = out_dir / scenario.name
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        started = time.perf_counter()
        world = RemoteWorld(scenario, run_dir, api, server)
        try:
            client = Client(world)
            planner = Planner(world, client)
            rules = list(scenario.engine.fraud_rules)
            if scenario.engine.default_fraud_rules and not server.global_rules:
                rules += DEFAULT_RULES  # the server has none for every tenant: ours get them
            for tenant in planner.tenants.values():
                for rule in rules:
                    api.create_fraud_rule(rule, tenant.id)
            play(world, planner, client, progress)
            world.log.flush()
            tenants = {t.name: t.id for t in planner.tenants.values()}
            return _collect(world, tenants, run_dir, started)
        finally:
            world.close()
    finally:
        api.close()


def _collect(
    world: RemoteWorld, tenants: dict[str, str], run_dir: Path, started: float
) -> RunResult:
    api = world.api
    duck = duckdb.connect(str(run_dir / "run.duckdb"), config=export.DUCKDB_CONFIG)
    try:
        for table in (t.name for t in EXPORTED):
            columns = _fetch_table(api, table, list(tenants.values()), duck)
            if table == "events":  # the digest reads the times as the engine wrote them
                digest = event_log_digest(duck.execute(EVENT_LOG_SQL).fetchall())
            export.finish_table(duck, table, columns)
        for table in LOG_TABLES:
            export.copy_table(world.log, table, duck)
        verification = [(n, tid, api.verify_audit(tid)) for n, tid in tenants.items()]
        heads = {n: (duck.execute(
            "SELECT hash FROM audit_log WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1", [tid]
        ).fetchone() or ("",))[0] for n, tid in tenants.items()}  # fmt: skip
        result = RunResult(world.scenario, run_dir, 0.0, world.clock.now(), digest, heads)
        report_run(duck, result, verification, started)
        return result
    finally:
        duck.close()


def _fetch_table(
    api: RemoteEngine, table: str, tenant_ids: list[str], duck: duckdb.DuckDBPyConnection
) -> Columns:
    """The tenants' rows of ``table`` into DuckDB, page by page, still as text."""
    after: str | None = None
    columns: Columns = []
    while True:
        params: dict[str, Any] = {"tenant_id": tenant_ids, "limit": PAGE_ROWS}
        if after is not None:
            params["after"] = after
        page = api.admin("GET", f"/export/{table}", params=params)
        if not columns:
            columns = [(n, t) for n, t in page["columns"]]
            export.create_table(duck, table, columns)
        if page["rows"]:
            export.insert_rows(duck, table, columns, page["rows"])
        after = page["next_after"]
        if after is None:
            return columns
