"""The engine against a reference model: random command sequences, compared after every step.

``EngineMachine`` drives one engine (a ``SimulatedClock``, ``SeededIds``, no default fraud
rules, one amount_limit rule flagging anything over 1000 major units) and, beside it, one
``ModelPayment`` per payment: plain data that decides on its own what each command must do,
the new status and amounts or which error. The model writes out which statuses each command
accepts (``ACCEPTS``) instead of reading the engine's transition table, so a wrong edge in
the table shows up here. After every step the invariants compare the two: every field, money
never returned beyond what was captured, one audit row per transition, one outbox event per
notified transition, an intact hash chain. ``ModelBooks`` keeps, beside them, what each
ledger account must hold (fees at 2.9 % + 30 rounded half up, settlement two days after a
capture, at each day's first run_due a payout of what is available then): after every step
each ledger transaction balances, each currency's entries sum to zero, the tenant's
balances equal the model's, ``reconcile`` reports nothing, the ledger's chain verifies and
each payout has one event, ``payout.<its status>``.

It runs on SQLite in memory, on a file in a fresh temporary directory and on PostgreSQL in a
fresh schema; the machine builds its own engine because a ``RuleBasedStateMachine`` cannot
use pytest fixtures.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from mockpay_core import Engine, EngineConfig, Payment, SeededIds, SimulatedClock, Status
from mockpay_core.errors import (
    AmountExceeded,
    AuthorizationExpired,
    IdempotencyKeyReused,
    InvalidTransition,
    MockPayError,
)
from tests.conftest import drop_schema, new_schema, require_postgres

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOOK = "http://127.0.0.1:4000/hooks"
EXPONENTS = {"INR": 2, "JPY": 0, "USD": 2}
FLAG_OVER_MAJOR = 1000
DAY_S = 24 * 3600
AUTHORIZATION_TTL = timedelta(days=7)
IDEMPOTENCY_TTL = timedelta(days=1)
FAILURE_CODES = ("card_declined", "insufficient_funds", "expired_card", "processing_error")
PAGE_SIZE = 100

S = Status
# The statuses each command acts on; from any other status it is an InvalidTransition.
ACCEPTS: dict[str, frozenset[Status]] = {
    "simulate": frozenset({S.PENDING}),
    "capture": frozenset({S.AUTHORIZED}),
    "cancel": frozenset({S.PENDING, S.AUTHORIZED}),
    "review": frozenset({S.FLAGGED}),
    "refund": frozenset({S.SUCCESS, S.PARTIALLY_REFUNDED}),
    "open_dispute": frozenset({S.SUCCESS, S.PARTIALLY_REFUNDED}),
    "resolve_dispute": frozenset({S.DISPUTED}),
}
# The commands that take a payment further along (cancel ends it early, so it stays out).
FORWARD = ("simulate", "review", "capture", "refund", "open_dispute", "resolve_dispute")
# A well-formed call of every command, for trying it where it is not accepted.
VALID_CALLS: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("simulate", ("success",)),
    ("simulate", ("failed",)),
    ("capture", ()),
    ("cancel", ()),
    ("review", ("approve",)),
    ("review", ("reject",)),
    ("refund", (1,)),
    ("open_dispute", ()),
    ("resolve_dispute", ("won",)),
    ("resolve_dispute", ("lost",)),
)


def major(amount_minor: int, currency: str) -> int | float:
    """The amount as a JSON client sends it: a whole number, or a float with the cents."""
    places = EXPONENTS[currency]
    return amount_minor if places == 0 else amount_minor / 10**places


@st.composite
def money(draw: st.DrawFn) -> tuple[str, int]:
    """A currency and an amount in its minor units; one in three at or over the fraud limit."""
    currency = draw(st.sampled_from(sorted(EXPONENTS)))
    limit = FLAG_OVER_MAJOR * 10 ** EXPONENTS[currency]
    size = draw(st.sampled_from(["under", "under", "at", "over"]))
    if size == "at":
        return currency, draw(st.sampled_from([limit, limit + 1]))
    under = size == "under"
    return currency, draw(st.integers(1, limit - 1) if under else st.integers(limit + 2, 3 * limit))


def keyed(data: st.DataObject) -> bool:
    """Whether a command carries an idempotency key (and can be replayed)."""
    return data.draw(st.booleans(), label="keyed")


def view(p: Payment) -> dict[str, Any]:
    return {
        "status": p.status,
        "currency": p.currency,
        "amount_minor": p.amount_minor,
        "capture_method": p.capture_method.value,
        "captured_minor": p.captured_minor,
        "refunded_minor": p.refunded_minor,
        "disputed_minor": p.disputed_minor,
        "expires_at": p.expires_at,
        "failure_code": p.failure_code,
    }


@dataclass
class ModelPayment:
    id: str
    currency: str
    amount_minor: int
    manual: bool
    status: Status
    captured_minor: int = 0
    refunded_minor: int = 0
    lost_minor: int = 0  # lost disputes
    dispute_minor: int | None = None  # the open dispute
    expires_at: datetime | None = None
    failure_code: str | None = None
    refunds: int = 0
    transitions: int = 1  # the create
    notified: int = 0

    @property
    def refundable_minor(self) -> int:
        return self.captured_minor - self.refunded_minor - self.lost_minor

    def move(self, status: Status) -> None:
        """A transition after the create: one audit row and one event."""
        self.status = status
        self.transitions += 1
        self.notified += 1

    def settle(self) -> None:
        """Back to a captured status after a refund or a dispute, by how much went back."""
        returned = self.refunded_minor + self.lost_minor
        if returned == 0:
            self.move(S.SUCCESS)
        elif returned < self.captured_minor:
            self.move(S.PARTIALLY_REFUNDED)
        else:
            self.move(S.REFUNDED)

    def view(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "currency": self.currency,
            "amount_minor": self.amount_minor,
            "capture_method": "manual" if self.manual else "automatic",
            "captured_minor": self.captured_minor,
            "refunded_minor": self.refunded_minor,
            "disputed_minor": self.lost_minor,
            "expires_at": self.expires_at,
            "failure_code": self.failure_code,
        }


def fee_minor(captured_minor: int) -> int:
    """2.9 % rounded half up to a minor unit, plus 30; never more than the capture."""
    rate = (Decimal(captured_minor) * Decimal("0.029")).quantize(Decimal(1), ROUND_HALF_UP)
    return min(captured_minor, int(rate) + 30)


DISPUTE_FEE_MINOR = 1500
SETTLEMENT_DELAY = timedelta(days=2)


@dataclass
class ModelBooks:
    """What each (currency, account) of the tenant's ledger must hold."""

    accounts: dict[tuple[str, str], int] = field(default_factory=dict)
    unsettled: list[tuple[datetime, str, int]] = field(default_factory=list)
    swept_window: int | None = None

    def move(self, currency: str, **legs: int) -> None:
        assert sum(legs.values()) == 0, legs
        for account, amount in legs.items():
            key = (currency, account)
            self.accounts[key] = self.accounts.get(key, 0) + amount

    def capture(self, m: ModelPayment, now: datetime, held: bool) -> None:
        fee = fee_minor(m.captured_minor)
        source = "authorized" if held else "network"
        self.move(m.currency, **{source: -m.captured_minor}, pending=m.captured_minor - fee,
                  fees=fee)  # fmt: skip
        self.unsettled.append((now + SETTLEMENT_DELAY, m.currency, m.captured_minor - fee))
        if held:
            self.release(m.currency, m.amount_minor - m.captured_minor)

    def release(self, currency: str, amount_minor: int) -> None:
        self.move(currency, authorized=-amount_minor, network=amount_minor)

    def run_due(self, now: datetime) -> None:
        """Settle what is due, then, at the day's first run_due only, pay out each positive
        available balance (what becomes available later that day waits for the next)."""
        for due in [u for u in self.unsettled if u[0] <= now]:
            self.unsettled.remove(due)
            self.move(due[1], pending=-due[2], available=due[2])
        window = int(now.timestamp() // DAY_S)
        if window == self.swept_window:
            return
        self.swept_window = window
        for (currency, account), amount in sorted(self.accounts.items()):
            if account == "available" and amount > 0:
                self.move(currency, available=-amount, network=amount)

    def nonzero(self) -> dict[tuple[str, str], int]:
        return {k: v for k, v in self.accounts.items() if v}


@dataclass(frozen=True)
class Sent:
    """A keyed command as first sent and what it returned or raised, to replay it."""

    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    value: object
    error: MockPayError | None
    expires_at: datetime


class EngineMachine(RuleBasedStateMachine):
    """One engine and its model; the subclasses below choose the database."""

    on_file = False
    on_postgres = False

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory(prefix="mockpay-model-") if self.on_file else None
        path = str(Path(self.tmp.name) / "mockpay.db") if self.tmp else ":memory:"
        self.pg: tuple[str, str] | None = None
        store_options: dict[str, Any] = {}
        if self.on_postgres:
            self.pg = (require_postgres(), new_schema())
            path = f"{self.pg[0]}?schema={self.pg[1]}"
            store_options["durability"] = "off"
        self.clock = SimulatedClock(START)
        self.books = ModelBooks()
        self.engine = Engine.open(
            path,
            clock=self.clock,
            ids=SeededIds(1),
            config=EngineConfig(seed_default_fraud_rules=False),
            **store_options,
        )
        self.engine.create_fraud_rule(
            {"name": "big", "rule_type": "amount_limit", "threshold": FLAG_OVER_MAJOR}
        )
        self.tenant_id = self.engine.register_tenant("Acme", "dev@acme.test").tenant.id
        self.model: dict[str, ModelPayment] = {}
        self.sent: list[Sent] = []
        self.keys_used = 0

    def teardown(self) -> None:
        self.engine.close()
        if self.tmp:
            self.tmp.cleanup()
        if self.pg:
            drop_schema(*self.pg)

    def send(
        self, expect: type[MockPayError] | None, method: str, *args: Any, keyed: bool, **kw: Any
    ) -> Any:
        """``engine.<method>(tenant, *args, **kw)``: a fresh value, or ``expect`` raised with
        the payment (``args[0]``) unchanged. A keyed command gets a fresh key unless ``kw``
        brings one, and is remembered for replays."""
        if keyed:
            self.keys_used += 1
            kw.setdefault("idempotency_key", f"key-{self.keys_used}")
        call = getattr(self.engine, method)
        error: MockPayError | None = None
        if expect is None:
            outcome = call(self.tenant_id, *args, **kw)
            assert not outcome.replayed
            value = outcome.value
        else:
            before = self.engine.get_payment(self.tenant_id, args[0])
            with pytest.raises(expect) as raised:
                call(self.tenant_id, *args, **kw)
            value, error = None, raised.value
            assert type(error) is expect and not error.replayed
            assert self.engine.get_payment(self.tenant_id, args[0]) == before
        if keyed:
            expires_at = self.clock.now() + IDEMPOTENCY_TTL
            self.sent.append(Sent(method, args, kw, value, error, expires_at))
        return value if error is None else error

    def pick(self, data: st.DataObject, command: str) -> str:
        """Any payment, or (half the time, if there is one) one whose status ``command`` accepts."""
        fitting = [pid for pid, m in self.model.items() if m.status in ACCEPTS[command]]
        aim = data.draw(st.booleans(), label="aim")
        pool = fitting if fitting and aim else list(self.model)
        return data.draw(st.sampled_from(pool), label="payment")

    def in_play(self) -> list[ModelPayment]:
        """Payments some forward command still accepts."""
        return [m for m in self.model.values() if any(m.status in ACCEPTS[c] for c in FORWARD)]

    def all_payments(self) -> list[Payment]:
        found: list[Payment] = []
        cursor = None
        while True:
            page = self.engine.list_payments(self.tenant_id, limit=PAGE_SIZE, cursor=cursor)
            found += page.data
            if not page.has_more:
                return found
            cursor = page.next_cursor

    def refusal(self, m: ModelPayment, command: str) -> type[MockPayError] | None:
        return None if m.status in ACCEPTS[command] else InvalidTransition

    def live(self) -> list[Sent]:
        """Keyed commands whose idempotency records have not expired."""
        now = self.clock.now()
        return [s for s in self.sent if s.expires_at > now]

    def waiting(self) -> list[ModelPayment]:
        """Authorizations that have not reached their expiry yet."""
        now = self.clock.now()
        return [m for m in self.model.values() if m.expires_at is not None and m.expires_at > now]

    def key_expiries(self) -> list[datetime]:
        now = self.clock.now()
        return sorted({s.expires_at for s in self.sent if s.expires_at > now})

    def expired_creates(self) -> list[Sent]:
        """Creates whose key's latest record has expired."""
        now = self.clock.now()
        latest = {s.kwargs["idempotency_key"]: s for s in self.sent}
        return [s for s in latest.values() if s.method == "create_payment" and s.expires_at <= now]

    @rule(amount=money(), manual=st.booleans())
    def create(self, amount: tuple[str, int], manual: bool, key: str | None = None) -> None:
        currency, amount_minor = amount
        flagged = amount_minor > FLAG_OVER_MAJOR * 10 ** EXPONENTS[currency]
        reused = {} if key is None else {"idempotency_key": key}
        p = self.send(
            None, "create_payment", keyed=True, **reused,
            amount=major(amount_minor, currency), currency=currency, webhook_url=HOOK,
            capture_method="manual" if manual else "automatic",
        )  # fmt: skip
        m = ModelPayment(p.id, currency, amount_minor, manual, S.FLAGGED if flagged else S.PENDING)
        m.notified = 1 if flagged else 0  # a plain pending creation notifies nobody
        self.model[p.id] = m
        assert view(p) == m.view()

    @initialize(first=st.lists(st.tuples(money(), st.booleans()), min_size=1, max_size=4))
    def first_payments(self, first: list[tuple[tuple[str, int], bool]]) -> None:
        for amount, manual in first:
            self.create(amount, manual)

    @rule(data=st.data())
    def simulate(self, data: st.DataObject, pid: str | None = None) -> None:
        m = self.model[pid or self.pick(data, "simulate")]
        outcome = data.draw(st.sampled_from(["success", "success", "failed"]), label="outcome")
        code = data.draw(st.sampled_from((None, *FAILURE_CODES)), label="failure_code")
        expect = self.refusal(m, "simulate")
        p = self.send(expect, "simulate", m.id, outcome, failure_code=code, keyed=keyed(data))
        if expect is not None:
            return
        if outcome == "failed":
            m.failure_code = code or "card_declined"
            m.move(S.FAILED)
        elif m.manual:
            m.expires_at = self.clock.now() + AUTHORIZATION_TTL
            m.move(S.AUTHORIZED)
            self.books.move(m.currency, network=-m.amount_minor, authorized=m.amount_minor)
        else:
            m.captured_minor = m.amount_minor
            m.move(S.SUCCESS)
            self.books.capture(m, self.clock.now(), held=False)
        assert view(p) == m.view()

    @rule(data=st.data())
    def capture(self, data: st.DataObject, pid: str | None = None) -> None:
        m = self.model[pid or self.pick(data, "capture")]
        full = m.amount_minor
        amount = data.draw(
            st.none() | st.integers(1, full) | st.integers(full + 1, 2 * full), label="amount"
        )
        captured = full if amount is None else amount
        expect = self.refusal(m, "capture")
        if expect is None and m.expires_at is not None and self.clock.now() >= m.expires_at:
            expect = AuthorizationExpired
        elif expect is None and captured > full:
            expect = AmountExceeded
        kw = {} if amount is None else {"amount": major(amount, m.currency)}
        p = self.send(expect, "capture", m.id, keyed=keyed(data), **kw)
        if expect is None:
            m.captured_minor, m.expires_at = captured, None
            m.move(S.SUCCESS)
            self.books.capture(m, self.clock.now(), held=True)
            assert view(p) == m.view()

    @rule(data=st.data())
    def cancel(self, data: st.DataObject, pid: str | None = None) -> None:
        m = self.model[pid or self.pick(data, "cancel")]
        reason = data.draw(st.sampled_from([None, "customer asked"]), label="reason")
        expect = self.refusal(m, "cancel")
        p = self.send(expect, "cancel", m.id, reason=reason, keyed=keyed(data))
        if expect is None:
            if m.status is S.AUTHORIZED:
                self.books.release(m.currency, m.amount_minor)
            m.expires_at = None
            m.move(S.CANCELED)
            assert view(p) == m.view()

    @rule(data=st.data())
    def review(self, data: st.DataObject, pid: str | None = None) -> None:
        m = self.model[pid or self.pick(data, "review")]
        decision = data.draw(st.sampled_from(["approve", "approve", "reject"]), label="decision")
        expect = self.refusal(m, "review")
        p = self.send(expect, "review", m.id, decision, keyed=keyed(data))
        if expect is not None:
            return
        if decision == "approve":
            m.move(S.PENDING)
        else:
            m.failure_code = "fraud_rejected"
            m.move(S.FAILED)
        assert view(p) == m.view()

    @rule(data=st.data())
    def refund(self, data: st.DataObject, pid: str | None = None) -> None:
        m = self.model[pid or self.pick(data, "refund")]
        room = m.refundable_minor
        within = st.integers(1, room) | st.just(room) if room > 0 else st.nothing()
        amount = data.draw(within | st.integers(room + 1, room + m.amount_minor), label="amount")
        expect = self.refusal(m, "refund")
        if expect is None and amount > room:
            expect = AmountExceeded
        receipt = self.send(expect, "refund", m.id, major(amount, m.currency), keyed=keyed(data))
        if expect is None:
            m.refunded_minor += amount
            m.refunds += 1
            self.books.move(m.currency, available=-amount, network=amount)
            m.settle()
            assert receipt.refund.amount_minor == amount
            assert view(receipt.payment) == m.view()
        assert len(self.engine.refunds(self.tenant_id, m.id)) == m.refunds

    @rule(data=st.data())
    def open_dispute(self, data: st.DataObject, pid: str | None = None) -> None:
        m = self.model[pid or self.pick(data, "open_dispute")]
        room = m.refundable_minor
        within = st.integers(1, room) if room > 0 else st.nothing()
        over = st.integers(room + 1, room + m.amount_minor)
        amount = data.draw(st.none() | within | over, label="amount")
        disputed = room if amount is None else amount
        expect = self.refusal(m, "open_dispute")
        if expect is None and disputed > room:
            expect = AmountExceeded
        kw = {} if amount is None else {"amount": major(amount, m.currency)}
        receipt = self.send(expect, "open_dispute", m.id, keyed=keyed(data), **kw)
        if expect is None:
            m.dispute_minor = disputed
            m.move(S.DISPUTED)
            self.books.move(m.currency, available=-(disputed + DISPUTE_FEE_MINOR),
                            reserved=disputed, fees=DISPUTE_FEE_MINOR)  # fmt: skip
            assert (receipt.dispute.amount_minor, receipt.dispute.status) == (disputed, "open")
            assert view(receipt.payment) == m.view()

    @rule(data=st.data())
    def resolve_dispute(self, data: st.DataObject, pid: str | None = None) -> None:
        m = self.model[pid or self.pick(data, "resolve_dispute")]
        verdict = data.draw(st.sampled_from(["won", "lost"]), label="verdict")
        expect = self.refusal(m, "resolve_dispute")
        receipt = self.send(expect, "resolve_dispute", m.id, verdict, keyed=keyed(data))
        if expect is not None:
            return
        assert m.dispute_minor is not None
        assert (receipt.dispute.amount_minor, receipt.dispute.status) == (m.dispute_minor, verdict)
        back = "network" if verdict == "lost" else "available"
        self.books.move(m.currency, reserved=-m.dispute_minor, **{back: m.dispute_minor})
        if verdict == "lost":
            m.lost_minor += m.dispute_minor
        m.dispute_minor = None
        m.settle()
        assert view(receipt.payment) == m.view()

    @precondition(lambda self: self.in_play())
    @rule(data=st.data())
    def move_along(self, data: st.DataObject) -> None:
        """A payment still in play takes a command its status accepts, so runs go deep."""
        m = data.draw(st.sampled_from(self.in_play()), label="payment")
        commands = [c for c in FORWARD if m.status in ACCEPTS[c]]
        command = data.draw(st.sampled_from(commands), label="command")
        getattr(self, command)(data, m.id)

    @rule(data=st.data())
    def forbidden_command(self, data: st.DataObject) -> None:
        """A well-formed command the payment's status does not accept changes nothing."""
        pid = data.draw(st.sampled_from(list(self.model)), label="payment")
        m = self.model[pid]
        calls = [(c, args) for c, args in VALID_CALLS if m.status not in ACCEPTS[c]]
        command, args = data.draw(st.sampled_from(calls), label="call")
        error = self.send(InvalidTransition, command, pid, *args, keyed=False)
        assert error.details["state"] == m.status.value

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        sent = data.draw(st.sampled_from(self.live()), label="sent")
        call = getattr(self.engine, sent.method)
        if sent.error is None:
            outcome = call(self.tenant_id, *sent.args, **sent.kwargs)
            assert outcome.replayed
            assert outcome.value == sent.value
        else:
            with pytest.raises(type(sent.error)) as raised:
                call(self.tenant_id, *sent.args, **sent.kwargs)
            assert raised.value.replayed
            assert raised.value == sent.error

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def reuse_key_for_another_request(self, data: st.DataObject) -> None:
        sent = data.draw(st.sampled_from(self.live()), label="sent")
        amount = 2 if sent.kwargs.get("amount") == 1 else 1
        with pytest.raises(IdempotencyKeyReused):
            self.engine.create_payment(
                self.tenant_id, amount=amount, currency="JPY", webhook_url=HOOK,
                idempotency_key=sent.kwargs["idempotency_key"],
            )  # fmt: skip

    @rule(seconds=st.integers(1, 6 * 3600) | st.integers(DAY_S, 8 * DAY_S))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: self.expired_creates())
    @rule(data=st.data())
    def create_again_after_key_expiry(self, data: st.DataObject) -> None:
        """Once its key has expired, the same create is new again: a second payment."""
        sent = data.draw(st.sampled_from(self.expired_creates()), label="sent")
        first = sent.value
        assert isinstance(first, Payment)
        manual = first.capture_method.value == "manual"
        key = sent.kwargs["idempotency_key"]
        self.create((first.currency, first.amount_minor), manual, key)

    @precondition(lambda self: self.waiting())
    @rule(
        data=st.data(),
        offset_us=st.sampled_from([0, -1, 1]),
        then=st.sampled_from(["capture", "run_due", "nothing"]),
    )
    def advance_to_authorization_expiry(
        self, data: st.DataObject, offset_us: int, then: str
    ) -> None:
        """To just before, at or just after an authorization's expiry; capture or sweep there."""
        m = data.draw(st.sampled_from(self.waiting()), label="authorization")
        assert m.expires_at is not None
        self.clock.set(max(self.clock.now(), m.expires_at + timedelta(microseconds=offset_us)))
        if then == "capture":
            self.capture(data, m.id)
        elif then == "run_due":
            self.run_due()

    @precondition(lambda self: self.key_expiries())
    @rule(data=st.data(), offset_us=st.sampled_from([0, -1, 1]))
    def advance_to_key_expiry(self, data: st.DataObject, offset_us: int) -> None:
        """To just before, at or just after an idempotency record's expiry."""
        expiry = data.draw(st.sampled_from(self.key_expiries()), label="expiry")
        self.clock.set(max(self.clock.now(), expiry + timedelta(microseconds=offset_us)))

    @rule()
    def run_due(self) -> None:
        now = self.clock.now()
        due = [
            m
            for m in self.model.values()
            if m.status is S.AUTHORIZED and m.expires_at is not None and m.expires_at <= now
        ]
        assert self.engine.run_due()["authorizations_expired"] == len(due)
        for m in due:
            m.expires_at = None
            m.move(S.CANCELED)
            self.books.release(m.currency, m.amount_minor)
        self.books.run_due(now)

    @invariant()
    def engine_matches_model(self) -> None:
        payments = self.all_payments()
        assert {p.id: view(p) for p in payments} == {pid: m.view() for pid, m in self.model.items()}
        for p in payments:
            assert p.refunded_minor + p.disputed_minor <= p.captured_minor <= p.amount_minor

    @invariant()
    def one_audit_row_per_transition(self) -> None:
        for pid, m in self.model.items():
            rows = self.engine.audit_history(self.tenant_id, pid)
            assert len(rows) == m.transitions
            assert [r.old_status for r in rows] == [None] + [r.new_status for r in rows[:-1]]
            assert rows[-1].new_status == m.status.value

    @invariant()
    def one_event_per_notified_transition(self) -> None:
        for pid, m in self.model.items():
            events = self.engine.events(self.tenant_id, pid, limit=1000)
            assert len(events) == m.notified
            assert all(e.payment_id == pid for e in events)

    @invariant()
    def the_books_balance_and_match_the_model(self) -> None:
        with self.engine.store.reader() as r:
            balances = {k: v for k, v in r.ledger_balances(self.tenant_id).items() if v}
            assert r.unbalanced_transactions(self.tenant_id) == []
        for currency in {c for c, _ in balances}:
            assert sum(v for (c, _), v in balances.items() if c == currency) == 0
        assert balances == self.books.nonzero()
        found = self.engine.reconcile(self.tenant_id)
        assert found.ok, found.differences
        assert self.engine.verify_ledger(self.tenant_id).ok

    @invariant()
    def one_event_per_payout(self) -> None:
        for payout in self.engine.payouts(self.tenant_id):
            (event,) = self.engine.events(self.tenant_id, payout.id)
            assert event.type == f"payout.{payout.status.value}"

    @invariant()
    def audit_chain_verifies(self) -> None:
        check = self.engine.verify_audit(self.tenant_id)
        assert check.ok, check
        assert check.rows_checked == sum(m.transitions for m in self.model.values())


COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


@settings(max_examples=150, stateful_step_count=50, **COMMON)
class OnSqliteMemory(EngineMachine):
    on_file = False


@settings(max_examples=40, stateful_step_count=40, **COMMON)
class OnSqliteFile(EngineMachine):
    on_file = True


# Fewer examples than on a file: every command is a network round trip or three.
@settings(max_examples=25, stateful_step_count=40, **COMMON)
class OnPostgres(EngineMachine):
    on_postgres = True


TestOnSqliteMemory = OnSqliteMemory.TestCase
TestOnSqliteFile = OnSqliteFile.TestCase
TestOnPostgres = OnPostgres.TestCase
