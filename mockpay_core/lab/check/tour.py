"""Notebook 1's checks: each finds the truth by running the engine or the scenario."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from mockpay_core import analysis
from mockpay_core.clock import SimulatedClock
from mockpay_core.config import EngineConfig
from mockpay_core.engine import Engine
from mockpay_core.errors import MockPayError
from mockpay_core.ids import SeededIds
from mockpay_core.lab import runs
from mockpay_core.lab.check.verdict import Verdict, unanswered

HOOK = "http://shop.receiver.test/webhooks"


def _refund_after_cancel_code() -> str:
    config = EngineConfig(seed_default_fraud_rules=False)
    with Engine.open(":memory:", clock=SimulatedClock(), ids=SeededIds(1), config=config) as e:
        tenant = e.register_tenant("Lab", "lab@shop.test").tenant.id
        pay = e.create_payment(tenant, amount=30, currency="USD", webhook_url=HOOK,
                               idempotency_key="p4").value  # fmt: skip
        e.cancel(tenant, pay.id)
        try:
            e.refund(tenant, pay.id, 30)
        except MockPayError as exc:
            return exc.code
    return "none"


def refund_after_cancel(answer: str | None) -> Verdict:
    """Try this 2: the ``error_code`` of a refund of the canceled ``p4``."""
    if answer is None:
        return unanswered("the `error_code` you found, as a string")
    if answer.strip() == _refund_after_cancel_code():
        return Verdict(
            True,
            "a canceled payment took no money, and the transition table has no refund edge"
            " out of `canceled`: the gate refuses it before anything is written.",
        )
    if answer.strip() == "amount_exceeded":
        return Verdict(False, "that code is for refunding more than was captured. Is "
                       "'how much' even the question for a canceled payment?")  # fmt: skip
    return Verdict(False, "find the refund's row in `client_requests` (`action = 'refund'`,"
                   " `ok = false`) and copy its `error_code`.")  # fmt: skip


def short_settle(answer: str | None) -> Verdict:
    """Try this 3: which expectation of ``01-happy-path.yaml`` fails with ``settle: 1d``
    (a part of its name is enough)."""
    if answer is None:
        return unanswered("(a part of) the failing expectation's name")
    with tempfile.TemporaryDirectory() as out:
        result = runs.play("01-happy-path.yaml", out, name="happy-path-1d", settle="1d")
        failing = [e.spec.name for e in result.expectations if not e.passed]
    words = answer.strip().lower()
    if len(words) >= 4 and any(words in name.lower() for name in failing):
        return Verdict(
            True,
            "the run now ends a day after its last step, and an authorization expires only"
            " 7 days after it was made: the expiry never happens, so its status, its audit row"
            " and its webhook are all missing, and each expectation that counts them fails.",
        )
    return Verdict(False, "that one still passes with `settle: 1d`. Which expectation needs"
                   " time to pass on the simulated clock?")  # fmt: skip


def fired_rule(answer: str | None, run_dir: str | Path) -> Verdict:
    """Try this 4: the fraud rule that flagged ``p3`` in the run at ``run_dir``."""
    if answer is None:
        return unanswered("the rule's name, as in the row's `metadata`")
    metadata = analysis.query(
        run_dir,
        "SELECT a.metadata FROM audit_log a JOIN payments p ON p.id = a.payment_id"
        " WHERE p.idempotency_key = 'p3' AND a.action = 'create'",
    ).item()
    fired = json.loads(metadata)["rules_fired"]
    if answer.strip().lower() in (name.lower() for name in fired):
        return Verdict(True, "the engine records, in the audit row of the transition, every"
                       " rule that fired: a reviewer sees why the payment was held.")  # fmt: skip
    return Verdict(False, "look at `rules_fired` in the `metadata` of p3's `create` row"
                   " (`json_extract(metadata, '$.rules_fired')` in DuckDB).")  # fmt: skip
