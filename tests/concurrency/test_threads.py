"""Real threads on a real database file: the guarantees hold under concurrency."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from mockpay_core import Engine, Status
from mockpay_core.errors import AmountExceeded
from tests.engine.helpers import HOOK, captured

T = TypeVar("T")


def all_at_once(n: int, task: Callable[[int], T]) -> list[T | Exception]:
    """Run ``task(i)`` on ``n`` threads released together by a barrier."""
    barrier = threading.Barrier(n)

    def run(i: int) -> T | Exception:
        barrier.wait()
        try:
            return task(i)
        except Exception as exc:  # collected, asserted on by the caller
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_fifty_threads_one_key_make_one_payment(file_engine: Engine) -> None:
    tenant = file_engine.register_tenant("Acme", "dev@acme.test").tenant
    results = all_at_once(
        50,
        lambda _: file_engine.create_payment(
            tenant.id, amount=5000, currency="INR", webhook_url=HOOK, idempotency_key="same"
        ),
    )
    assert not [r for r in results if isinstance(r, Exception)]
    first = results[0].value  # type: ignore[union-attr]
    assert all(r.value == first for r in results)  # type: ignore[union-attr]
    assert Counter(r.replayed for r in results) == {True: 49, False: 1}  # type: ignore[union-attr]
    assert len(file_engine.list_payments(tenant.id, limit=100).data) == 1


def test_velocity_threshold_is_exact_under_a_burst(file_engine: Engine) -> None:
    tenant = file_engine.register_tenant("Acme", "dev@acme.test").tenant
    file_engine.create_fraud_rule(
        {"name": "Velocity check", "rule_type": "velocity", "threshold": 5, "window_secs": 60}
    )
    results = all_at_once(
        100,
        lambda i: (
            file_engine.create_payment(
                tenant.id, amount=10, currency="USD", webhook_url=HOOK, idempotency_key=f"burst-{i}"
            ).value.status
        ),
    )
    assert Counter(results) == {Status.PENDING: 5, Status.FLAGGED: 95}
    assert file_engine.verify_audit(tenant.id).ok


def test_concurrent_partial_refunds_never_over_refund(file_engine: Engine) -> None:
    tenant = file_engine.register_tenant("Acme", "dev@acme.test").tenant
    payment = captured(file_engine, tenant.id, 100)
    results = all_at_once(
        20, lambda i: file_engine.refund(tenant.id, payment.id, 7, idempotency_key=f"r{i}")
    )
    refused = [r for r in results if isinstance(r, AmountExceeded)]
    assert len(refused) == 6  # 14 x 7.00 = 98.00 fits in 100.00, the 15th would not
    assert len(results) - len(refused) == 14
    final = file_engine.get_payment(tenant.id, payment.id)
    refunds = file_engine.refunds(tenant.id, payment.id)
    assert final.refunded_minor == sum(r.amount_minor for r in refunds) == 9800
    assert final.status is Status.PARTIALLY_REFUNDED
    assert len(file_engine.audit_history(tenant.id, payment.id)) == 2 + 14


def test_concurrent_success_and_failed_on_one_payment_one_wins(file_engine: Engine) -> None:
    tenant = file_engine.register_tenant("Acme", "dev@acme.test").tenant
    p = file_engine.create_payment(
        tenant.id, amount=1, currency="USD", webhook_url=HOOK, idempotency_key="p"
    ).value
    results = all_at_once(
        10, lambda i: file_engine.simulate(tenant.id, p.id, "success" if i % 2 else "failed")
    )
    assert len([r for r in results if not isinstance(r, Exception)]) == 1
    assert len(file_engine.audit_history(tenant.id, p.id)) == 2
