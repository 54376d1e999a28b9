"""Reading the books: balances, the ledger paged, payouts, the chain and reconciliation."""

from __future__ import annotations

from typing import Final

from mockpay_core.domain import ledger_chain, reconcile
from mockpay_core.domain.audit import ChainVerification
from mockpay_core.domain.ledger import Account
from mockpay_core.domain.model import Balance, LedgerEntry, Page, Payout
from mockpay_core.domain.reconcile import Difference, Reconciliation
from mockpay_core.domain.validation import collect
from mockpay_core.errors import NotFound, ValidationError
from mockpay_core.service.context import Context
from mockpay_core.storage.protocol import Reader

LEDGER_LIMIT_MAX: Final = 1000
LATEST_LIMIT_MAX: Final = 10_000
PAYOUTS_LIMIT_MAX: Final = 100


def _tenant(r: Reader, tenant_id: str) -> None:
    if r.get_tenant(tenant_id) is None:
        raise NotFound("tenant", tenant_id)


def _limit(value: object, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ValidationError(f"must be an integer from 1 to {most}", "limit")
    return value


def _cursor(value: object) -> int:
    if value is None:
        return 0
    text = str(value)
    if not text.isdigit() or len(text) > 18:
        raise ValidationError("must be the next_cursor of a previous page", "starting_after")
    return int(text)


def balance(ctx: Context, tenant_id: str) -> list[Balance]:
    """Per currency the tenant has money in: available, pending, reserved, authorized."""
    with ctx.store.reader() as r:
        _tenant(r, tenant_id)
        found = r.ledger_balances(tenant_id)
    currencies = sorted({currency for currency, _ in found})

    def of(currency: str, account: Account) -> int:
        return found.get((currency, account.value), 0)

    return [
        Balance(c, of(c, Account.AVAILABLE), of(c, Account.PENDING), of(c, Account.RESERVED),
                of(c, Account.AUTHORIZED))
        for c in currencies
    ]  # fmt: skip


def entries(
    ctx: Context, tenant_id: str, *, starting_after: object = None, limit: object = 100
) -> Page[LedgerEntry]:
    """The tenant's ledger entries, oldest first, a page at a time (``next_cursor``)."""
    after, most = collect(lambda: _cursor(starting_after), lambda: _limit(limit, LEDGER_LIMIT_MAX))
    with ctx.store.reader() as r:
        _tenant(r, tenant_id)
        rows = r.ledger_entries(tenant_id, after, most + 1)
    more = len(rows) > most
    return Page(rows[:most], more, str(rows[most - 1].seq) if more else None)


def latest_entries(ctx: Context, tenant_id: str, limit: object) -> list[LedgerEntry]:
    """The tenant's newest entries, newest first (at most ``LATEST_LIMIT_MAX``)."""
    most = _limit(limit, LATEST_LIMIT_MAX)
    with ctx.store.reader() as r:
        _tenant(r, tenant_id)
        return r.latest_ledger_entries(tenant_id, most)


def transaction(ctx: Context, tenant_id: str, transaction_id: str) -> list[LedgerEntry]:
    """One ledger transaction's entries (``<kind>:<source id>``); NotFound when none."""
    with ctx.store.reader() as r:
        _tenant(r, tenant_id)
        found = r.ledger_transaction(tenant_id, transaction_id)
    if not found:
        raise NotFound("ledger transaction", transaction_id)
    return found


def payouts(ctx: Context, tenant_id: str, limit: object = PAYOUTS_LIMIT_MAX) -> list[Payout]:
    most = _limit(limit, PAYOUTS_LIMIT_MAX)
    with ctx.store.reader() as r:
        _tenant(r, tenant_id)
        return r.payouts(tenant_id, most)


def get_payout(ctx: Context, tenant_id: str, payout_id: str) -> Payout:
    with ctx.store.reader() as r:
        found = r.get_payout(tenant_id, payout_id)
    if found is None:
        raise NotFound("payout", payout_id)
    return found


def verify(ctx: Context, tenant_id: str) -> ChainVerification:
    with ctx.store.reader() as r:
        _tenant(r, tenant_id)
        return ledger_chain.verify(r.ledger_chain(tenant_id))


def reconciliation(ctx: Context, tenant_id: str) -> Reconciliation:
    """The ledger next to the records (``domain.reconcile``), its chain and every
    transaction's balance; each disagreement a ``Difference``."""
    with ctx.store.reader() as r:
        _tenant(r, tenant_id)
        found = reconcile.differences(r.ledger_sources(tenant_id), r.ledger_balances(tenant_id))
        for transaction_id, currency, off in r.unbalanced_transactions(tenant_id):
            found.append(Difference(transaction_id, currency, 0, off,
                                    "a transaction whose debits are not its credits"))  # fmt: skip
        chain = ledger_chain.verify(r.ledger_chain(tenant_id))
    if not chain.ok:
        found.append(Difference(f"entry {chain.broken_row_id}", "", 0, 0,
                                f"the ledger's chain breaks: {chain.reason}"))  # fmt: skip
    return Reconciliation(tenant_id, not found, found)
