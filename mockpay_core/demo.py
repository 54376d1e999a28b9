"""The end-to-end demo: payments walked through the state machine, then their audit trail.

Runs on a simulated clock with seeded ids, so its output is the same on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from mockpay_core.clock import SimulatedClock
from mockpay_core.domain.model import Payment
from mockpay_core.domain.money import format_major
from mockpay_core.engine import Engine
from mockpay_core.errors import MockPayError
from mockpay_core.ids import SeededIds

DEMO_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOOK = "http://127.0.0.1:4000/webhooks"


def _money(p: Payment) -> str:
    return f"{format_major(p.amount_minor, p.currency)} {p.currency}"


def run_demo(db_path: str = ":memory:", seed: int = 7, out: Callable[[str], None] = print) -> int:
    """Walk payments through every state; print each step and the audit trail. Exit code."""
    clock = SimulatedClock(DEMO_START)
    with Engine.open(db_path, clock=clock, ids=SeededIds(seed)) as engine:
        tenant = engine.register_tenant("Acme Store", "dev@acme.test").tenant
        tid = tenant.id
        out(f"Tenant {tenant.name} ({tid}), rate-limit tier {tenant.rate_limit_tier}\n")
        walked: list[Payment] = []

        def step(label: str, outcome_payment: Payment) -> Payment:
            out(f"  {label:<44} -> {outcome_payment.status.value}")
            clock.advance(1)
            return outcome_payment

        def create(key: str, amount: object, currency: str, **kw: object) -> Payment:
            p = engine.create_payment(
                tid, amount=amount, currency=currency, webhook_url=HOOK, idempotency_key=key, **kw
            ).value
            walked.append(p)
            return step(f"create {key}: {_money(p)}", p)

        out("1. Automatic capture, two partial refunds")
        p = create("order-1001", 5000, "INR", customer="cus_ana")
        step("simulate success", engine.simulate(tid, p.id, "success").value)
        step("refund 1000.00", engine.refund(tid, p.id, 1000, reason="one item back").value.payment)
        step("refund 4000.00", engine.refund(tid, p.id, 4000).value.payment)

        out("2. Idempotency: a client retries order-1001")
        again = engine.create_payment(
            tid,
            amount=5000,
            currency="INR",
            webhook_url=HOOK,
            idempotency_key="order-1001",
            customer="cus_ana",
        )
        same = again.value.id == walked[0].id
        out(f"  same key, same body: replayed={again.replayed}, same payment={same}")
        try:
            engine.create_payment(
                tid, amount=9999, currency="INR", webhook_url=HOOK, idempotency_key="order-1001"
            )
        except MockPayError as exc:
            out(f"  same key, other body: {exc.code}")

        out("3. Manual capture, partial capture, a lost dispute")
        p = create("order-1002", 120, "USD", capture_method="manual", customer="cus_ben")
        step("simulate success (authorize)", engine.simulate(tid, p.id, "success").value)
        step("capture 100.00 (20.00 released)", engine.capture(tid, p.id, amount=100).value)
        step("open dispute for 50.00", engine.open_dispute(tid, p.id, amount=50).value.payment)
        step("dispute lost", engine.resolve_dispute(tid, p.id, "lost").value.payment)

        out("4. Flagged by fraud, approved by review, then declined")
        p = create("order-1003", 150000, "INR", customer="cus_cat")
        step("review approve", engine.review(tid, p.id, "approve").value)
        step("simulate failed", engine.simulate(tid, p.id, "failed").value)

        out("5. An authorization nobody captures")
        p = create("order-1004", 3000, "JPY", capture_method="manual")
        step("simulate success (authorize)", engine.simulate(tid, p.id, "success").value)
        clock.advance(timedelta(days=8))
        expired = engine.run_due()["authorizations_expired"]
        step(f"8 days later: {expired} authorization expired", engine.get_payment(tid, p.id))

        out("\nAudit trail")
        for p in walked:
            out(f"  payment {p.id} ({p.idempotency_key})")
            for e in engine.audit_history(tid, p.id):
                old = e.old_status or "-"
                when = f"{e.created_at:%Y-%m-%d %H:%M:%S}"
                out(
                    f"    #{e.seq:<3} {when}  {old:>18} -> {e.new_status:<18}"
                    f" {e.action:<13} by {e.triggered_by:<13} {e.hash[:12]}"
                )
        check = engine.verify_audit(tid)
        out(
            f"\nAudit chain: {'verified' if check.ok else 'BROKEN at ' + str(check.broken_row_id)}"
            f" ({check.rows_checked} rows)"
        )
        events = engine.events(tid, limit=1000)
        out(f"Outbox: {len(events)} events: {', '.join(sorted({e.type for e in events}))}")
        return 0 if check.ok else 1
