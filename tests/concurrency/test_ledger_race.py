"""Refunds racing a payout on a shared file and on PostgreSQL: the books stay balanced and
the payout never takes more than was available when it ran."""

from __future__ import annotations

from datetime import timedelta

from mockpay_core import Engine
from mockpay_core.domain.model import Payout
from mockpay_core.errors import AmountExceeded
from tests.concurrency.test_threads import all_at_once
from tests.engine.helpers import captured


def test_twenty_partial_refunds_and_a_payout_racing_them(file_engine: Engine) -> None:
    tenant = file_engine.register_tenant("Acme", "dev@acme.test").tenant
    payment = captured(file_engine, tenant.id, 100)
    file_engine.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    assert file_engine.settle_captures() == 1

    def task(i: int) -> object:
        if i == 10:
            return file_engine.create_payout(tenant.id, currency="USD").value
        return file_engine.refund(tenant.id, payment.id, 7, idempotency_key=f"r{i}")

    results = all_at_once(21, task)
    payouts = [r for r in results if isinstance(r, Payout)]
    refused = [r for r in results if isinstance(r, AmountExceeded)]
    assert len(payouts) + len(refused) + 14 == 21  # 14 refunds of 7.00 fit in 100.00
    assert len(refused) >= 6
    entries = file_engine.ledger(tenant.id, limit=1000).data
    running = 0
    for e in entries:
        if e.account == "available":
            if e.kind == "payout":
                assert 0 < e.amount_minor <= running  # what was there when it ran
            running += e.amount_minor if e.direction == "credit" else -e.amount_minor
    (usd,) = file_engine.balance(tenant.id)
    assert usd.available_minor == running
    assert file_engine.reconcile(tenant.id).ok and file_engine.verify_ledger(tenant.id).ok
