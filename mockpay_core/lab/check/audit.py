"""Notebook 5's checks: each finds the truth by tampering with a fresh engine's log."""

from __future__ import annotations

from mockpay_core.clock import SimulatedClock
from mockpay_core.config import EngineConfig
from mockpay_core.domain.audit import CHAINED_FIELDS
from mockpay_core.engine import Engine
from mockpay_core.ids import SeededIds
from mockpay_core.lab import audit
from mockpay_core.lab.check.verdict import Verdict, unanswered

HOOK = "http://shop.receiver.test/webhooks"


def _broken_after_deleting(seq: int) -> int | None:
    config = EngineConfig(seed_default_fraud_rules=False)
    with Engine.open(":memory:", clock=SimulatedClock(), ids=SeededIds(3), config=config) as e:
        tenant = e.register_tenant("Acme", "a@x.test").tenant.id
        for i in range(3):
            pay = e.create_payment(tenant, amount=10, currency="USD", webhook_url=HOOK,
                                   idempotency_key=f"{i}").value  # fmt: skip
            e.simulate(tenant, pay.id, "success")
        audit.drop_triggers(e)
        audit.tamper(e, "DELETE FROM audit_log WHERE seq = ?", (seq,))
        return e.verify_audit(tenant).broken_seq


def deleted_row(answer: int | None, seq: int = 3) -> Verdict:
    """Try this 1: the ``broken_seq`` ``verify_audit`` reports after row ``seq`` is
    deleted."""
    if answer is None:
        return unanswered("the sequence number `verify_audit` reports")
    if answer == _broken_after_deleting(seq):
        return Verdict(True, "the row after the gap names, in its `prev_hash`, a row that is"
                       " no longer there: the chain breaks where the gap ends.")  # fmt: skip
    if answer == seq:
        return Verdict(False, "the deleted row is gone: nothing can fail to verify there."
                       " Which row still points at it?")  # fmt: skip
    return Verdict(False, "run `engine.verify_audit(tenant)` after the delete and read its"
                   " `broken_seq`.")  # fmt: skip


def metadata_edit_caught(answer: bool | None) -> Verdict:
    """Try this 3: is an edit of a row's ``metadata`` caught by the chain? (True/False)"""
    if answer is None:
        return unanswered("True or False")
    if answer is ("metadata" in CHAINED_FIELDS):
        return Verdict(True, "the hash covers every chained field, metadata with them: an"
                       " edit to any of them changes the row's hash.")  # fmt: skip
    return Verdict(False, "read `CHAINED_FIELDS` in `mockpay_core/domain/audit.py`: what"
                   " goes into a row's hash?")  # fmt: skip
