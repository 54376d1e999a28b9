"""The ledger's pure core: balanced transactions, fees and each money movement's entries."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockpay_core.domain import ledger
from mockpay_core.domain.fees import DEFAULT, FeeSchedule, returned_fee_minor
from mockpay_core.domain.ledger import Account, Direction, Entry, Kind, Transaction, Unbalanced
from mockpay_core.domain.model import CaptureMethod, Payment
from mockpay_core.domain.states import Action, Status

A = Account
amounts = st.integers(min_value=1, max_value=10**9)


def payment(**changes: object) -> Payment:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    p = Payment("p1", "t1", 10_000, "USD", Status.PENDING, CaptureMethod.AUTOMATIC,
                "http://127.0.0.1/h", None, at, at)  # fmt: skip
    return dataclasses.replace(p, **changes)  # type: ignore[arg-type]


@given(st.dictionaries(st.sampled_from(list(Account)), st.integers(-(10**9), 10**9), min_size=1))
def test_only_legs_that_sum_to_zero_make_a_transaction(legs: dict[Account, int]) -> None:
    nonzero = [v for v in legs.values() if v]
    if sum(legs.values()) == 0 and len(nonzero) >= 2:
        t = Transaction.of(Kind.CAPTURE, "p1", "USD", legs)
        assert t.debits_minor == sum(e.amount_minor for e in t.entries) // 2
        assert all(e.amount_minor > 0 for e in t.entries)
    else:
        with pytest.raises(Unbalanced):
            Transaction.of(Kind.CAPTURE, "p1", "USD", legs)


@given(st.lists(st.integers(-(10**9), 10**9).filter(bool), min_size=1, max_size=5))
def test_legs_balanced_by_one_more_account_always_build(amounts: list[int]) -> None:
    accounts = list(Account)
    legs = dict(zip(accounts, amounts, strict=False))
    legs[accounts[len(legs)]] = -sum(legs.values())
    t = Transaction.of(Kind.REFUND, "r1", "USD", legs)
    assert ledger.totals([t]) == {("USD", a): v for a, v in legs.items() if v}


@pytest.mark.parametrize(
    "entries",
    [
        (Entry(A.NETWORK, Direction.DEBIT, 100), Entry(A.PENDING, Direction.CREDIT, 99)),
        (Entry(A.NETWORK, Direction.DEBIT, 0), Entry(A.PENDING, Direction.CREDIT, 0)),
        (Entry(A.NETWORK, Direction.DEBIT, -5), Entry(A.PENDING, Direction.DEBIT, 5)),
        (Entry(A.NETWORK, Direction.DEBIT, True), Entry(A.PENDING, Direction.CREDIT, True)),
        (Entry(A.NETWORK, Direction.DEBIT, 1.0), Entry(A.PENDING, Direction.CREDIT, 1.0)),  # type: ignore[arg-type]
        (Entry(A.NETWORK, Direction.DEBIT, 5),),
    ],
)
def test_an_unbalanced_or_malformed_transaction_cannot_be_built(entries: tuple[Entry]) -> None:
    with pytest.raises(Unbalanced):
        Transaction(Kind.CAPTURE, "p1", "USD", entries)


def test_an_unknown_currency_is_refused() -> None:
    with pytest.raises(Unbalanced, match="currency"):
        Transaction.of(Kind.CAPTURE, "p1", "XXX", {A.NETWORK: -1, A.PENDING: 1})


@pytest.mark.parametrize(
    ("schedule", "amount", "fee"),
    [
        (DEFAULT, 10_000, 320),  # 2.9 % of 100.00 is 2.90, plus 0.30
        (DEFAULT, 4_999, 175),  # 144.971 rounds to 145
        (DEFAULT, 50, 31),  # 1.45 rounds to 1
        (DEFAULT, 17, 17),  # 0.49 + 30 is more than the payment: capped at it
        (FeeSchedule(rate_bp=150, fixed_minor=0), 100, 2),  # 1.5: half rounds up
        (FeeSchedule(rate_bp=150, fixed_minor=0), 99, 1),  # 1.485 rounds down
        (FeeSchedule(rate_bp=0, fixed_minor=0), 100, 0),
    ],
)
def test_fees_round_half_up_and_never_exceed_the_amount(
    schedule: FeeSchedule, amount: int, fee: int
) -> None:
    assert schedule.fee_minor(amount) == fee


@given(amounts, amounts, st.integers(0, 5000), st.integers(0, 1000))
def test_a_fee_is_bounded_and_grows_with_the_amount(a: int, b: int, bp: int, fixed: int) -> None:
    schedule = FeeSchedule(rate_bp=bp, fixed_minor=fixed)
    low, high = sorted((a, b))
    assert 0 <= schedule.fee_minor(low) <= low
    assert schedule.fee_minor(low) <= schedule.fee_minor(high)


@given(amounts, st.lists(st.integers(1, 10**6), min_size=1, max_size=20))
def test_refunds_of_a_whole_payment_return_exactly_its_fee(fee: int, parts: list[int]) -> None:
    captured, refunded, returned = sum(parts), 0, []
    fee = min(fee, captured)
    for part in parts:
        returned.append(returned_fee_minor(fee, captured, refunded, refunded + part))
        refunded += part
    assert all(r >= 0 for r in returned) and sum(returned) == fee


def test_a_fee_schedule_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="rate_bp"):
        FeeSchedule(rate_bp=-1)
    with pytest.raises(ValueError, match="extra"):
        FeeSchedule(percent=3)  # type: ignore[call-arg]


def test_an_automatic_capture_lands_net_of_its_fee_in_pending() -> None:
    after = payment(status=Status.SUCCESS, captured_minor=10_000)
    (t,) = ledger.for_transition(payment(), after, Action.SUCCEED, DEFAULT)
    assert (t.id, ledger.totals([t])) == (
        "capture:p1",
        {("USD", A.NETWORK): -10_000, ("USD", A.PENDING): 9_680, ("USD", A.FEES): 320},
    )


def test_a_partial_capture_releases_the_rest_of_its_authorization() -> None:
    manual = payment(capture_method=CaptureMethod.MANUAL)
    held = dataclasses.replace(manual, status=Status.AUTHORIZED)
    after = dataclasses.replace(held, status=Status.SUCCESS, captured_minor=6_000)
    moves = ledger.for_transition(manual, held, Action.AUTHORIZE, DEFAULT)
    moves += ledger.for_transition(held, after, Action.CAPTURE, DEFAULT)
    assert [t.kind for t in moves] == [Kind.AUTHORIZATION, Kind.CAPTURE, Kind.RELEASE]
    totals = ledger.totals(moves)
    assert totals[("USD", A.AUTHORIZED)] == 0
    assert totals[("USD", A.PENDING)] == 6_000 - DEFAULT.fee_minor(6_000)
    assert totals[("USD", A.NETWORK)] == -6_000


def test_voiding_releases_a_hold_and_a_pending_payment_moves_nothing() -> None:
    held = payment(capture_method=CaptureMethod.MANUAL, status=Status.AUTHORIZED)
    void = dataclasses.replace(held, status=Status.CANCELED)
    (t,) = ledger.for_transition(held, void, Action.EXPIRE, DEFAULT)
    assert t.kind is Kind.RELEASE and t.debits_minor == 10_000
    assert ledger.for_transition(payment(), payment(status=Status.CANCELED), Action.CANCEL,
                                 DEFAULT) == []  # fmt: skip


def test_a_refund_returns_its_fee_share_only_when_the_schedule_says_so() -> None:
    before = payment(status=Status.SUCCESS, captured_minor=10_000)
    after = dataclasses.replace(before, refunded_minor=5_000)
    kept = ledger.for_transition(before, after, Action.REFUND, DEFAULT, source_id="r1")
    back = ledger.for_transition(
        before, after, Action.REFUND, FeeSchedule(refund_returns_fee=True), source_id="r1",
        fee_charged_minor=320,
    )  # fmt: skip
    assert ledger.totals(kept) == {("USD", A.AVAILABLE): -5_000, ("USD", A.NETWORK): 5_000}
    assert ledger.totals(back)[("USD", A.AVAILABLE)] == -5_000 + 160
    assert ledger.totals(back)[("USD", A.FEES)] == -160


def test_a_lost_dispute_can_drive_available_below_zero() -> None:
    moves = ledger.dispute_opened("d1", "USD", 10_000, 1_500) + ledger.dispute_lost(
        "d1", "USD", 10_000
    )
    totals = ledger.totals(moves)
    assert totals[("USD", A.AVAILABLE)] == -11_500 and totals[("USD", A.RESERVED)] == 0
    assert sum(totals.values()) == 0


def test_a_failed_payout_comes_back() -> None:
    moves = ledger.payout("po1", "EUR", 700, paid=False)
    assert [t.id for t in moves] == ["payout:po1", "payout_failed:po1"]
    assert set(ledger.totals(moves).values()) == {0}


movement = st.one_of(
    st.tuples(st.just("capture"), amounts, st.booleans()),
    st.tuples(st.just("refund"), amounts, st.integers(0, 10**6)),
    st.tuples(st.just("dispute"), amounts, st.booleans()),
    st.tuples(st.just("settle"), amounts, st.booleans()),
    st.tuples(st.just("payout"), amounts, st.booleans()),
)


@given(st.lists(movement, max_size=30), st.sampled_from(["USD", "JPY"]))
def test_any_sequence_of_movements_sums_to_zero(moves: list[tuple[str, int, object]],
                                                currency: str) -> None:  # fmt: skip
    done: list[Transaction] = []
    for n, (what, amount, flag) in enumerate(moves):
        sid = f"s{n}"
        if what == "capture":
            fee = DEFAULT.fee_minor(amount)
            done += ledger.authorization(sid, currency, amount) if flag else []
            done += ledger.capture(sid, currency, amount, fee, held=bool(flag))
        elif what == "refund":
            done += ledger.refund(sid, currency, amount, min(amount, int(flag)))  # type: ignore[call-overload]
        elif what == "dispute":
            done += ledger.dispute_opened(sid, currency, amount, DEFAULT.dispute_fee_minor)
            done += (ledger.dispute_won if flag else ledger.dispute_lost)(sid, currency, amount)
        elif what == "settle":
            done += ledger.settlement(sid, currency, amount)
        else:
            done += ledger.payout(sid, currency, amount, paid=bool(flag))
    assert all(sum(e.signed_minor for e in t.entries) == 0 for t in done)
    assert sum(ledger.totals(done).values()) == 0
    assert ledger.totals(done).get((currency, A.AUTHORIZED), 0) == 0
    assert ledger.totals(done).get((currency, A.RESERVED), 0) == 0
