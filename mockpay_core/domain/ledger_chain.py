"""The ledger's entries as stored: each tenant's rows form a hash chain, as its audit rows do.

Row ``n`` stores the previous row's hash and ``hash = sha256(prev_hash || canonical(fields))``
over ``CHAINED_FIELDS`` (``domain.audit``'s encoding), so an edited, deleted or reordered
entry breaks the chain even behind dropped triggers; ``verify`` walks it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from mockpay_core.domain.audit import GENESIS, ChainVerification, chain_hash, verify_chain
from mockpay_core.domain.ledger import Account, Kind, Transaction
from mockpay_core.domain.model import LedgerEntry

# An entry row's fields its hash covers (``domain.audit.chain_hash`` with these names).
CHAINED_FIELDS: Final = (
    "id", "tenant_id", "seq", "transaction_id", "kind", "source_id", "payment_id", "account",
    "currency", "direction", "amount_minor", "available_on", "created_at",
)  # fmt: skip


def verify(rows: Iterable[Mapping[str, Any]]) -> ChainVerification:
    """Walk a tenant's entry rows in ``seq`` order (times as their chained text)."""
    return verify_chain(rows, CHAINED_FIELDS)


def _chained_time(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat(timespec="microseconds")


def chain(
    tenant_id: str,
    payment_id: str | None,
    head: tuple[int, str] | None,
    transactions: Sequence[Transaction],
    now: datetime,
    settles_on: datetime,
) -> list[list[LedgerEntry]]:
    """Each transaction's entries as rows, chained after ``head`` (the tenant's last
    (seq, hash)); a capture's pending entry is available on ``settles_on``."""
    seq, prev = head if head else (0, GENESIS)
    found = []
    for t in transactions:
        rows = []
        for n, e in enumerate(t.entries, 1):
            seq += 1
            settles = (
                settles_on if t.kind is Kind.CAPTURE and e.account is Account.PENDING else None
            )
            fields: dict[str, Any] = {
                "id": f"{t.id}/{n}", "tenant_id": tenant_id, "seq": seq,
                "transaction_id": t.id, "kind": t.kind.value, "source_id": t.source_id,
                "payment_id": payment_id, "account": e.account.value, "currency": t.currency,
                "direction": e.direction.value, "amount_minor": e.amount_minor,
                "available_on": _chained_time(settles), "created_at": _chained_time(now),
            }  # fmt: skip
            entry_hash = chain_hash(prev, fields, CHAINED_FIELDS)
            rows.append(LedgerEntry(**{**fields, "available_on": settles, "created_at": now},
                                    prev_hash=prev, hash=entry_hash))  # fmt: skip
            prev = entry_hash
        found.append(rows)
    return found
