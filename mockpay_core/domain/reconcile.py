"""Reconciliation: the balances the business tables imply, next to the ledger's.

From the payments, refunds, disputes, fees and payouts tables alone, per currency:

- ``authorized`` = the amounts of payments still authorized (held, not captured);
- ``reserved`` = the amounts of open disputes;
- ``fees`` = every fee charged (captures, disputes) less the fees refunds gave back;
- ``funds`` (pending + available + reserved: what the gateway owes the tenant) = captured
  - fees - refunded - lost disputes - paid payouts;
- ``network`` = minus all of the above (the books sum to zero).

``funds`` is then split: ``pending`` = the net (captured less its capture fee) of every
captured payment not yet settled, ``available`` = the rest of ``funds`` less ``reserved``.
When a capture settled is the one fact only the ledger holds (settlement runs on the
clock), so which payments are settled is read from it (``unsettled``: the net of those with
no settlement transaction), their amounts from the records. Every difference names the
account, currency, expected and actual amounts; an honest run has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mockpay_core.domain.ledger import Account, Kind
from mockpay_core.domain.model import Record

FUNDS = "funds"  # pending + available + reserved
CHECKED = (Account.AUTHORIZED.value, Account.PENDING.value, Account.AVAILABLE.value,
           Account.RESERVED.value, Account.FEES.value, FUNDS, Account.NETWORK.value)  # fmt: skip
WRONG = "the ledger's balance is not what the records say"
_FEE_KINDS = (Kind.CAPTURE, Kind.DISPUTE_OPENED, Kind.REFUND)


@dataclass(frozen=True, slots=True)
class Difference(Record):
    account: str
    currency: str
    expected_minor: int
    actual_minor: int
    reason: str


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """``ok`` when the ledger agrees with the records, its chain verifies and every
    transaction balances; else each ``Difference``."""

    tenant_id: str
    ok: bool
    differences: list[Difference] = field(default_factory=list)

    def to_data(self) -> dict[str, object]:
        return {
            "tenant_id": self.tenant_id,
            "ok": self.ok,
            "differences": [d.to_data() for d in self.differences],
        }


def expected(sources: Mapping[str, Mapping[str, int]]) -> dict[tuple[str, str], int]:
    """(currency, account) -> what the business tables say it must hold."""
    found = {}
    for currency, s in sources.items():
        fees = sum(s.get(f"fees_{k.value}", 0) for k in _FEE_KINDS)
        funds = (
            s.get("captured", 0) - fees - s.get("refunded", 0) - s.get("dispute_lost", 0)
            - s.get("payouts_paid", 0)
        )  # fmt: skip
        held, reserved = s.get("authorized", 0), s.get("dispute_open", 0)
        pending = s.get("unsettled", 0)
        found.update({
            (currency, Account.AUTHORIZED.value): held,
            (currency, Account.PENDING.value): pending,
            (currency, Account.AVAILABLE.value): funds - pending - reserved,
            (currency, Account.RESERVED.value): reserved,
            (currency, Account.FEES.value): fees,
            (currency, FUNDS): funds,
            (currency, Account.NETWORK.value): -(held + funds + fees),
        })  # fmt: skip
    return found


def actual(balances: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """The ledger's balances folded into the accounts ``expected`` checks."""
    found: dict[tuple[str, str], int] = {}
    funds = (Account.PENDING.value, Account.AVAILABLE.value, Account.RESERVED.value)
    for (currency, account), amount in balances.items():
        if account in funds:
            found[(currency, FUNDS)] = found.get((currency, FUNDS), 0) + amount
        if account in CHECKED:
            found[(currency, account)] = found.get((currency, account), 0) + amount
    return found


def differences(
    sources: Mapping[str, Mapping[str, int]], balances: Mapping[tuple[str, str], int]
) -> list[Difference]:
    """Every account whose ledger balance is not what the business tables imply."""
    want, got = expected(sources), actual(balances)
    found = []
    for key in sorted(set(want) | set(got)):
        if want.get(key, 0) != got.get(key, 0):
            currency, account = key
            found.append(Difference(account, currency, want.get(key, 0), got.get(key, 0), WRONG))
    return found
