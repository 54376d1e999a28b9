"""The double-entry ledger: every money movement as a transaction whose debits equal credits.

Each tenant has, per currency, the accounts of ``Account``: money held on a card
(``authorized``), captured but not yet settled (``pending``), ``available`` to pay out,
``reserved`` for open disputes, the gateway's ``fees`` revenue from the tenant, and the
outside world (``network``: card networks and banks). Keeping the gateway's and the
network's side per tenant makes each tenant's books balance on their own.

An account's balance is its credits minus its debits: what the gateway owes the account's
owner. ``network`` therefore goes negative by whatever the outside world has put in, and
the balances of all of a tenant's accounts in one currency always sum to zero.

A ``Transaction`` is two or more ``Entry``s in integer minor units, built from signed legs
(``Transaction.of``): an unbalanced one cannot be constructed. The functions at the end
map each money movement (capture, release, refund, dispute opened/won/lost, settlement,
payout) to its transactions; ``for_transition`` picks them for a state-table transition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from mockpay_core.domain.fees import FeeSchedule, returned_fee_minor
from mockpay_core.domain.model import Payment
from mockpay_core.domain.money import CURRENCY_EXPONENTS
from mockpay_core.domain.states import Action, Status


class Account(StrEnum):
    AUTHORIZED = "authorized"
    PENDING = "pending"
    AVAILABLE = "available"
    RESERVED = "reserved"
    FEES = "fees"
    NETWORK = "network"


class Direction(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class Kind(StrEnum):
    """What a transaction records; with its source's id it names the transaction."""

    AUTHORIZATION = "authorization"
    CAPTURE = "capture"
    RELEASE = "release"  # an authorization's uncaptured rest, or a voided authorization
    REFUND = "refund"
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_WON = "dispute_won"
    DISPUTE_LOST = "dispute_lost"
    SETTLEMENT = "settlement"
    PAYOUT = "payout"
    PAYOUT_FAILED = "payout_failed"


# The transitions that can move money (``for_transition`` moves none for the others).
MOVES_MONEY: Final = frozenset({
    Action.AUTHORIZE, Action.SUCCEED, Action.CAPTURE, Action.CANCEL, Action.EXPIRE,
    Action.REFUND, Action.OPEN_DISPUTE, Action.WIN_DISPUTE, Action.LOSE_DISPUTE,
})  # fmt: skip
# The accounts a tenant sees in its balance (the rest are the gateway's and the world's).
BALANCE_ACCOUNTS = (Account.AUTHORIZED, Account.PENDING, Account.AVAILABLE, Account.RESERVED)


class Unbalanced(ValueError):
    """A transaction whose debits do not equal its credits (a bug, never bad input)."""


@dataclass(frozen=True, slots=True)
class Entry:
    account: Account
    direction: Direction
    amount_minor: int

    @property
    def signed_minor(self) -> int:
        """Credits positive, debits negative: what the entry adds to its account."""
        return self.amount_minor if self.direction is Direction.CREDIT else -self.amount_minor


@dataclass(frozen=True, slots=True)
class Transaction:
    """Entries of one currency whose debits equal their credits, checked when built."""

    kind: Kind
    source_id: str  # the payment, refund, dispute or payout that moved the money
    currency: str
    entries: tuple[Entry, ...]

    def __post_init__(self) -> None:
        if self.currency not in CURRENCY_EXPONENTS:
            raise Unbalanced(f"unknown currency {self.currency!r}")
        if len(self.entries) < 2:
            raise Unbalanced(f"{self.kind} needs two entries or more, has {len(self.entries)}")
        for e in self.entries:
            if type(e.amount_minor) is not int or e.amount_minor <= 0:
                raise Unbalanced(f"{self.kind}: entry amounts are positive integers")
        if sum(e.signed_minor for e in self.entries) != 0:
            raise Unbalanced(f"{self.kind}: debits {self.debits_minor} != credits")

    @classmethod
    def of(
        cls, kind: Kind, source_id: str, currency: str, legs: Mapping[Account, int]
    ) -> Transaction:
        """From signed legs (credit positive, debit negative); legs of zero are left out."""
        entries = tuple(
            Entry(acct, Direction.CREDIT if amount > 0 else Direction.DEBIT, abs(amount))
            for acct, amount in legs.items()
            if amount != 0
        )
        return cls(kind, source_id, currency, entries)

    @property
    def id(self) -> str:
        """Each (kind, source) moves money once, so it names the transaction."""
        return f"{self.kind.value}:{self.source_id}"

    @property
    def debits_minor(self) -> int:
        return sum(e.amount_minor for e in self.entries if e.direction is Direction.DEBIT)


def _maybe(
    kind: Kind, source_id: str, currency: str, legs: dict[Account, int]
) -> list[Transaction]:
    """A transaction, or none when every leg is zero (nothing moved)."""
    if all(amount == 0 for amount in legs.values()):
        return []
    return [Transaction.of(kind, source_id, currency, legs)]


A = Account


def authorization(payment_id: str, currency: str, amount_minor: int) -> list[Transaction]:
    """The card network holds ``amount_minor`` for a manual-capture payment."""
    return _maybe(Kind.AUTHORIZATION, payment_id, currency,
                  {A.NETWORK: -amount_minor, A.AUTHORIZED: amount_minor})  # fmt: skip


def capture(
    payment_id: str, currency: str, captured_minor: int, fee_minor: int, *, held: bool
) -> list[Transaction]:
    """Captured money, net of its fee, lands in pending; ``held``: out of an authorization
    (else straight from the network, as an automatic capture)."""
    source = A.AUTHORIZED if held else A.NETWORK
    legs = {source: -captured_minor, A.PENDING: captured_minor - fee_minor, A.FEES: fee_minor}
    return _maybe(Kind.CAPTURE, payment_id, currency, legs)


def release(payment_id: str, currency: str, amount_minor: int) -> list[Transaction]:
    """The part of an authorization not captured (or all of a voided one) goes back."""
    return _maybe(Kind.RELEASE, payment_id, currency,
                  {A.AUTHORIZED: -amount_minor, A.NETWORK: amount_minor})  # fmt: skip


def refund(
    refund_id: str, currency: str, amount_minor: int, fee_returned_minor: int = 0
) -> list[Transaction]:
    """A refund leaves the available balance (which may go negative, as with Stripe);
    a fee returned, when the schedule says so, comes back to it from the fees."""
    legs = {
        A.AVAILABLE: fee_returned_minor - amount_minor,
        A.NETWORK: amount_minor,
        A.FEES: -fee_returned_minor,
    }
    return _maybe(Kind.REFUND, refund_id, currency, legs)


def dispute_opened(
    dispute_id: str, currency: str, amount_minor: int, fee_minor: int
) -> list[Transaction]:
    """The disputed amount is reserved out of available, and the dispute fee charged."""
    legs = {A.AVAILABLE: -(amount_minor + fee_minor), A.RESERVED: amount_minor, A.FEES: fee_minor}
    return _maybe(Kind.DISPUTE_OPENED, dispute_id, currency, legs)


def dispute_won(dispute_id: str, currency: str, amount_minor: int) -> list[Transaction]:
    """The reserve goes back to available (the dispute fee is kept, as Stripe does now)."""
    return _maybe(Kind.DISPUTE_WON, dispute_id, currency,
                  {A.RESERVED: -amount_minor, A.AVAILABLE: amount_minor})  # fmt: skip


def dispute_lost(dispute_id: str, currency: str, amount_minor: int) -> list[Transaction]:
    """The reserve goes to the cardholder's bank."""
    return _maybe(Kind.DISPUTE_LOST, dispute_id, currency,
                  {A.RESERVED: -amount_minor, A.NETWORK: amount_minor})  # fmt: skip


def settlement(payment_id: str, currency: str, net_minor: int) -> list[Transaction]:
    """A capture's net moves from pending to available once its settlement delay passed."""
    return _maybe(Kind.SETTLEMENT, payment_id, currency,
                  {A.PENDING: -net_minor, A.AVAILABLE: net_minor})  # fmt: skip


def payout(payout_id: str, currency: str, amount_minor: int, *, paid: bool) -> list[Transaction]:
    """Available money sent to the tenant's bank; a failed payout comes back (two
    transactions, as Stripe shows a payout and its failure)."""
    sent = _maybe(Kind.PAYOUT, payout_id, currency,
                  {A.AVAILABLE: -amount_minor, A.NETWORK: amount_minor})  # fmt: skip
    if paid:
        return sent
    back = {A.NETWORK: -amount_minor, A.AVAILABLE: amount_minor}
    return sent + _maybe(Kind.PAYOUT_FAILED, payout_id, currency, back)


def for_transition(
    before: Payment | None,
    after: Payment,
    action: Action,
    fees: FeeSchedule,
    *,
    source_id: str | None = None,
    amount_minor: int = 0,
    fee_charged_minor: int = 0,
) -> list[Transaction]:
    """The money a transition of the state table moves. ``source_id`` and ``amount_minor``:
    the refund's or dispute's (a dispute's amount is not on the payment);
    ``fee_charged_minor``: the fee its capture charged (for a refund that returns fees)."""
    p, cur = after, after.currency
    if action is Action.AUTHORIZE:
        return authorization(p.id, cur, p.amount_minor)
    if action is Action.SUCCEED:
        return capture(p.id, cur, p.captured_minor, fees.fee_minor(p.captured_minor), held=False)
    if action is Action.CAPTURE:
        charged = capture(p.id, cur, p.captured_minor, fees.fee_minor(p.captured_minor), held=True)
        return charged + release(p.id, cur, p.amount_minor - p.captured_minor)
    if action in (Action.CANCEL, Action.EXPIRE):
        held = before is not None and before.status is Status.AUTHORIZED
        return release(p.id, cur, p.amount_minor) if held else []
    if before is None or source_id is None:
        return []
    if action is Action.REFUND:
        returned = 0
        if fees.refund_returns_fee:
            returned = returned_fee_minor(
                fee_charged_minor, p.captured_minor, before.refunded_minor, p.refunded_minor
            )
        return refund(source_id, cur, p.refunded_minor - before.refunded_minor, returned)
    if action is Action.OPEN_DISPUTE:
        return dispute_opened(source_id, cur, amount_minor, fees.dispute_fee_minor)
    if action is Action.WIN_DISPUTE:
        return dispute_won(source_id, cur, amount_minor)
    if action is Action.LOSE_DISPUTE:
        return dispute_lost(source_id, cur, p.disputed_minor - before.disputed_minor)
    return []


def totals(transactions: Iterable[Transaction]) -> dict[tuple[str, Account], int]:
    """Each (currency, account)'s balance after ``transactions``; accounts never moved are
    left out."""
    found: dict[tuple[str, Account], int] = {}
    for t in transactions:
        for e in t.entries:
            key = (t.currency, e.account)
            found[key] = found.get(key, 0) + e.signed_minor
    return found
