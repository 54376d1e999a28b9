"""Checks for the notebooks' "Try this" exercises: each says right or not yet, and why,
without giving the answer away.

A check takes the learner's answer (a number, a name, True or False) and returns a
``Verdict``, which a notebook displays as one line of Markdown; ``None`` is "not answered
yet". Each check finds the truth itself, by running the engine or reading the learner's
run, never from a number typed into it. One module per notebook:

- ``tour`` (1): ``refund_after_cancel``, ``short_settle``, ``fired_rule``;
- ``idempotency`` (2): ``duplicate_charges``, ``changed_field``, ``key_expiry_second``;
- ``fraud`` (3): ``cheapest_rule_set``, ``cheapest_threshold``;
- ``webhooks`` (4): ``long_outage``;
- ``audit`` (5): ``deleted_row``, ``metadata_edit_caught``;
- ``signatures`` (6): ``blind_guesses``;
- ``scale`` (7): ``busiest_hour``;
- ``failures`` (8): ``lost_answer_payments``, ``no_flapping_twice``;
- ``money`` (9): ``storm_successes``, ``jpy_accepted``;
- ``books`` (10): ``fee_on``, ``first_payout``, ``tampered_account``.
"""

from mockpay_core.lab.check.audit import deleted_row, metadata_edit_caught
from mockpay_core.lab.check.books import fee_on, first_payout, tampered_account
from mockpay_core.lab.check.failures import lost_answer_payments, no_flapping_twice
from mockpay_core.lab.check.fraud import cheapest_rule_set, cheapest_threshold
from mockpay_core.lab.check.idempotency import changed_field, duplicate_charges, key_expiry_second
from mockpay_core.lab.check.money import jpy_accepted, storm_successes
from mockpay_core.lab.check.scale import busiest_hour
from mockpay_core.lab.check.signatures import blind_guesses
from mockpay_core.lab.check.tour import fired_rule, refund_after_cancel, short_settle
from mockpay_core.lab.check.verdict import Verdict
from mockpay_core.lab.check.webhooks import long_outage

__all__ = [
    "Verdict",
    "blind_guesses",
    "busiest_hour",
    "changed_field",
    "cheapest_rule_set",
    "cheapest_threshold",
    "deleted_row",
    "duplicate_charges",
    "fee_on",
    "fired_rule",
    "first_payout",
    "jpy_accepted",
    "key_expiry_second",
    "long_outage",
    "lost_answer_payments",
    "metadata_edit_caught",
    "no_flapping_twice",
    "refund_after_cancel",
    "short_settle",
    "storm_successes",
    "tampered_account",
]
