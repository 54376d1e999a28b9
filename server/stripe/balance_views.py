"""The books as Stripe objects: Balance, BalanceTransaction and Payout.

A Stripe balance transaction is a change of the balance Stripe shows (available plus
pending). Ours are the ledger transactions that change a tenant's pending or available
account: a capture (``charge``: amount, fee, net; ``pending`` until it settles), a refund,
a dispute opened or won (``adjustment``), a payout and its failure. A settlement only
moves money from pending to available (the capture's status becomes ``available``), and
a lost dispute takes nothing more (its money left at the opening), so neither is one.
For each: ``net`` is what it added to pending and available, ``fee`` what it paid in fees,
``amount`` the two together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from mockpay_core.domain.ledger import Account, Kind
from mockpay_core.domain.model import Balance, LedgerEntry, Payout, PayoutStatus
from mockpay_core.errors import NotFound
from mockpay_core.service.payouts import SCHEDULED
from server.stripe import ids
from server.stripe.views import unix

# Our ledger kinds that are Stripe balance transactions: (type, reporting_category).
TYPES: Final = {
    Kind.CAPTURE: ("charge", "charge"),
    Kind.REFUND: ("refund", "refund"),
    Kind.DISPUTE_OPENED: ("adjustment", "dispute"),
    Kind.DISPUTE_WON: ("adjustment", "dispute_reversal"),
    Kind.PAYOUT: ("payout", "payout"),
    Kind.PAYOUT_FAILED: ("payout_failure", "payout_reversal"),
}
BALANCE: Final = frozenset({Account.PENDING.value, Account.AVAILABLE.value})
# Stripe's words for our payout failure codes.
FAILURE_MESSAGES: Final = {"could_not_process": "The bank could not process this payout."}
_HEX32: Final = 32
KINDS: Final = frozenset(k.value for k in TYPES)


def transaction_id(kind: str, source_id: str) -> str:
    """``txn_<source's 32 hex>_<kind>``: the ledger transaction ``<kind>:<source>``."""
    return f"txn_{source_id.replace('-', '')}_{kind}"


def transaction_of(stripe_id: str) -> str:
    """The ledger transaction id (``<kind>:<source>``) of a ``txn_`` id; NotFound else."""
    body = stripe_id.removeprefix("txn_")
    hex32, _, kind = body.partition("_")
    if body == stripe_id or len(hex32) != _HEX32 or kind not in KINDS:
        raise NotFound("balance_transaction", stripe_id)
    (source,) = ids.decode("payout", "po_" + hex32)  # any one-part kind checks the hex
    return f"{kind}:{source}"


def _source(e: LedgerEntry) -> str:
    kind = Kind(e.kind)
    if kind is Kind.CAPTURE:
        return ids.encode("charge", e.source_id)
    if kind is Kind.REFUND and e.payment_id:
        return ids.encode("refund", e.payment_id, e.source_id)
    if kind in (Kind.DISPUTE_OPENED, Kind.DISPUTE_WON) and e.payment_id:
        return ids.encode("dispute", e.payment_id, e.source_id)
    return ids.encode("payout", e.source_id)


def balance_transaction(entries: Sequence[LedgerEntry], settled: bool) -> dict[str, Any]:
    """One ledger transaction's ``entries`` as a BalanceTransaction; ``settled``: a capture's
    settlement has been written (its money is available)."""
    first = entries[0]
    kind = Kind(first.kind)
    signed = [(e.account, e.amount_minor if e.direction == "credit" else -e.amount_minor)
              for e in entries]  # fmt: skip
    net = sum(amount for account, amount in signed if account in BALANCE)
    fee = sum(amount for account, amount in signed if account == Account.FEES.value)
    pending = kind is Kind.CAPTURE and not settled
    # A capture's pending entry holds when it settles; everything else is available at once.
    available_on = next((e.available_on for e in entries if e.available_on), first.created_at)
    kind_type, category = TYPES[kind]
    return {
        "id": transaction_id(first.kind, first.source_id), "object": "balance_transaction",
        "amount": net + fee, "available_on": unix(available_on),
        "created": unix(first.created_at), "currency": first.currency.lower(),
        "description": None, "exchange_rate": None, "fee": fee,
        "fee_details": [] if fee == 0 else [{
            "amount": fee, "application": None, "currency": first.currency.lower(),
            "description": "MockPay processing fees", "type": "stripe_fee",
        }],
        "net": net, "reporting_category": category, "source": _source(first),
        "status": "pending" if pending else "available", "type": kind_type,
    }  # fmt: skip


def balance(balances: Sequence[Balance]) -> dict[str, Any]:
    """The tenant's Balance: available and pending per currency (reserved money, for open
    disputes, is in neither, as Stripe withdraws it)."""

    def amounts(pick: str) -> list[dict[str, Any]]:
        return [
            {"amount": getattr(b, pick), "currency": b.currency.lower(),
             "source_types": {"card": getattr(b, pick)}}
            for b in balances
        ]  # fmt: skip

    return {
        "object": "balance", "available": amounts("available_minor"),
        "livemode": False, "pending": amounts("pending_minor"),
    }  # fmt: skip


def payout(p: Payout) -> dict[str, Any]:
    failed = p.status is PayoutStatus.FAILED
    return {
        "id": ids.encode("payout", p.id), "object": "payout", "amount": p.amount_minor,
        "application_fee": None, "application_fee_amount": None,
        "arrival_date": unix(p.created_at), "automatic": p.method == SCHEDULED,
        "balance_transaction": transaction_id(Kind.PAYOUT.value, p.id),
        "created": unix(p.created_at), "currency": p.currency.lower(), "description": None,
        "destination": None,
        "failure_balance_transaction":
            transaction_id(Kind.PAYOUT_FAILED.value, p.id) if failed else None,
        "failure_code": p.failure_code,
        "failure_message": FAILURE_MESSAGES.get(p.failure_code or "") if failed else None,
        "livemode": False, "metadata": {}, "method": "standard", "original_payout": None,
        "reconciliation_status":
            "completed" if p.method == SCHEDULED and not failed else "not_applicable",
        "reversed_by": None, "source_type": "card", "statement_descriptor": None,
        "status": p.status.value, "trace_id": None, "type": "bank_account",
    }  # fmt: skip
