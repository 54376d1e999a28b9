"""The storage contract for the ledger (entries, fees, fee schedules, payouts), run against
every adapter in ``tests.conftest.STORES``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mockpay_core.domain import ledger, ledger_chain
from mockpay_core.domain.fees import FeeSchedule
from mockpay_core.domain.model import Dispute, DisputeStatus, Fee, Payout, PayoutStatus, Refund
from mockpay_core.domain.states import Status
from mockpay_core.errors import AuditImmutable
from mockpay_core.storage.protocol import Store, UnitOfWork
from tests.conftest import START
from tests.contract.test_store_contract import payment, tenant

DAY = timedelta(days=1)


def write(uow: UnitOfWork, payment_id: str | None, moves: list[ledger.Transaction]) -> None:
    head = uow.ledger_head("t1")
    rows = ledger_chain.chain("t1", payment_id, head, moves, START, START + 2 * DAY)
    for chunk in rows:
        uow.insert_ledger_entries(chunk)


@pytest.fixture
def books(store: Store) -> Store:
    """p001 captured (100.00, fee 3.20) and partly refunded; p002 captured and settled."""
    with store.unit_of_work() as uow:
        uow.insert_tenant(tenant(1), "hash-1")
        uow.insert_tenant(tenant(2), "hash-2")
        for n in (1, 2):
            uow.insert_payment(payment(n * 100, Status.SUCCESS, captured_minor=10_000 * n))
        write(uow, "p100", ledger.capture("p100", "USD", 10_000, 320, held=False))
        write(uow, "p100", ledger.refund("r1", "USD", 1_000))
        write(uow, "p200", ledger.capture("p200", "USD", 20_000, 610, held=False))
        write(uow, "p200", ledger.settlement("p200", "USD", 19_390))
    return store


def test_entries_are_read_back_in_order_and_paged(books: Store) -> None:
    with books.reader() as r:
        first = r.ledger_entries("t1", 0, 4)
        rest = r.ledger_entries("t1", first[-1].seq, 100)
        assert [e.seq for e in first + rest] == list(range(1, 11))
        assert [e.transaction_id for e in rest] == ["refund:r1"] + ["capture:p200"] * 3 + [
            "settlement:p200"
        ] * 2
        pending = next(e for e in first if e.account == "pending")
        assert (pending.amount_minor, pending.direction) == (9_680, "credit")
        assert pending.available_on == START + 2 * DAY and first[0].available_on is None
        assert r.ledger_head("t1") == (10, rest[-1].hash)
        assert r.ledger_head("t2") is None and r.ledger_entries("t2", 0, 10) == []


def test_the_newest_entries_and_one_transaction(books: Store) -> None:
    with books.reader() as r:
        newest = r.latest_ledger_entries("t1", 3)
        assert [e.seq for e in newest] == [10, 9, 8]
        assert [e.transaction_id for e in newest] == ["settlement:p200"] * 2 + ["capture:p200"]
        refund = r.ledger_transaction("t1", "refund:r1")
        assert [(e.account, e.direction, e.amount_minor) for e in refund] == [
            ("available", "debit", 1_000), ("network", "credit", 1_000),
        ]  # fmt: skip
        assert r.ledger_transaction("t1", "refund:r9") == []
        assert r.ledger_transaction("t2", "refund:r1") == []
        assert r.latest_ledger_entries("t2", 3) == []


def test_the_chain_read_from_disk_verifies_and_balances_are_sums(books: Store) -> None:
    with books.reader() as r:
        assert ledger_chain.verify(r.ledger_chain("t1")).ok
        assert r.ledger_balances("t1") == {
            ("USD", "available"): 19_390 - 1_000, ("USD", "fees"): 930,
            ("USD", "network"): -29_000, ("USD", "pending"): 9_680,
        }  # fmt: skip
        assert r.unbalanced_transactions("t1") == []
        assert r.ledger_balances("t2") == {}


def test_captures_come_due_for_settlement_once(books: Store) -> None:
    with books.reader() as r:
        assert r.due_settlements(START + DAY, 10) == []
        (due,) = r.due_settlements(START + 2 * DAY, 10)
        assert (due.tenant_id, due.payment_id, due.amount_minor) == ("t1", "p100", 9_680)
    with books.unit_of_work() as uow:
        write(uow, "p100", ledger.settlement("p100", "USD", 9_680))
    with books.reader() as r:
        assert r.due_settlements(START + 3 * DAY, 10) == []


def test_entries_are_append_only(books: Store) -> None:
    update = "UPDATE ledger_entries SET amount_minor = 1 WHERE seq = ?"
    with pytest.raises(AuditImmutable, match="ledger"), books.tables() as t:
        t.tamper(update, (2,), behind_triggers=False)
    with pytest.raises(AuditImmutable, match="ledger"), books.tables() as t:
        t.tamper("DELETE FROM ledger_entries WHERE seq = ?", (2,), behind_triggers=False)
    with books.reader() as r:
        assert ledger_chain.verify(r.ledger_chain("t1")).ok
        assert len(r.ledger_entries("t1", 0, 100)) == 10
    with books.tables() as t:  # behind the triggers' back: the change is made, the chain breaks
        assert t.tamper(update, (2,)) == 1
    with books.reader() as r:
        assert not ledger_chain.verify(r.ledger_chain("t1")).ok


def test_fees_and_fee_schedules(books: Store) -> None:
    own = FeeSchedule(rate_bp=150, fixed_minor=0, dispute_fee_minor=0, refund_returns_fee=True)
    with books.unit_of_work() as uow:
        assert uow.fee_schedule("t1", "USD") is None
        uow.put_fee_schedule("t1", "USD", own, START)
        uow.put_fee_schedule("t1", "USD", own.model_copy(update={"rate_bp": 175}), START + DAY)
        uow.insert_fee(Fee("capture:p100", "t1", "p100", "capture", "USD", 320, START))
        uow.insert_fee(Fee("refund:r1", "t1", "p100", "refund", "USD", -32, START))
    with books.reader() as r:
        assert r.fee_schedule("t1", "USD") == own.model_copy(update={"rate_bp": 175})
        assert r.fee_schedule("t1", "EUR") is None and r.fee_schedule("t2", "USD") is None
        assert r.fee_charged("t1", "p100") == 320 and r.fee_charged("t1", "p200") == 0


def test_payouts_newest_first_and_one_by_id(books: Store) -> None:
    made = [
        Payout(f"po{n}", "t1", "USD", 100 * n, PayoutStatus.PAID if n != 2 else
               PayoutStatus.FAILED, None if n != 2 else "account_closed", "scheduled",
               START + n * DAY)
        for n in (1, 2, 3)
    ]  # fmt: skip
    with books.unit_of_work() as uow:
        for p in made:
            uow.insert_payout(p)
    with books.reader() as r:
        assert r.payouts("t1", 10) == made[::-1]
        assert r.payouts("t1", 1) == [made[2]] and r.payouts("t2", 10) == []
        assert r.get_payout("t1", "po2") == made[1]
        assert r.get_payout("t2", "po2") is None and r.get_payout("t1", "po9") is None


def test_the_sources_the_ledger_must_agree_with(books: Store) -> None:
    with books.unit_of_work() as uow:
        uow.insert_payment(payment(3, Status.AUTHORIZED))
        uow.insert_refund(Refund("r1", "p100", "t1", 1_000, "USD", None, START))
        uow.insert_dispute(Dispute("d1", "p200", "t1", 500, "USD", None, DisputeStatus.OPEN, START))
        uow.insert_fee(Fee("capture:p100", "t1", "p100", "capture", "USD", 320, START))
        uow.insert_payout(Payout("po1", "t1", "USD", 700, PayoutStatus.PAID, None, "x", START))
    with books.reader() as r:
        assert r.ledger_sources("t1") == {
            "USD": {
                "captured": 30_000, "authorized": 300, "refunded": 1_000, "dispute_open": 500,
                "fees_capture": 320, "payouts_paid": 700,
                "unsettled": 10_000 - 320,  # p100 less its fee; p200 settled
            }
        }  # fmt: skip
        assert r.ledger_sources("t2") == {}
