"""The audit hash chain: each tenant's audit rows form a chain of SHA-256 hashes.

Row ``n`` stores ``prev_hash`` (row ``n-1``'s hash, or ``GENESIS`` for the first) and
``hash = sha256(prev_hash || canonical(fields))``. Editing, deleting or reordering any row
breaks every hash after it, so tampering is found even by someone who drops the database
trigger that refuses UPDATE and DELETE. The ledger's entries (``domain.ledger``) are
chained the same way over their own fields. The canonical encoding is JSON with sorted keys,
no spaces and UTF-8, over the fields in ``CHAINED_FIELDS``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

GENESIS: Final = "0" * 64
CHAINED_FIELDS: Final = (
    "id", "tenant_id", "payment_id", "seq", "old_status", "new_status",
    "action", "triggered_by", "metadata", "created_at",
)  # fmt: skip


_ENCODE: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical(fields: Mapping[str, Any], names: Sequence[str] = CHAINED_FIELDS) -> bytes:
    return _ENCODE({k: fields[k] for k in names}).encode("utf-8")


def chain_hash(
    prev_hash: str, fields: Mapping[str, Any], names: Sequence[str] = CHAINED_FIELDS
) -> str:
    """``names``: the chained fields (the audit log's by default; the ledger has its own)."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(fields, names)).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainVerification:
    """``ok``, or the first row where the chain breaks and why."""

    ok: bool
    rows_checked: int
    broken_row_id: str | None = None
    broken_seq: int | None = None
    reason: str | None = None


def verify_chain(
    rows: Iterable[Mapping[str, Any]], names: Sequence[str] = CHAINED_FIELDS
) -> ChainVerification:
    """Walk rows in ``seq`` order (each with the chained fields, ``prev_hash`` and ``hash``)."""
    prev, expected_seq, checked = GENESIS, 1, 0
    for row in rows:
        checked += 1
        if row["seq"] != expected_seq:
            reason = f"expected seq {expected_seq}, found {row['seq']} (a row is missing)"
        elif row["prev_hash"] != prev:
            reason = "prev_hash does not match the previous row's hash"
        elif chain_hash(prev, row, names) != row["hash"]:
            reason = "hash does not match the row's contents"
        else:
            prev, expected_seq = row["hash"], expected_seq + 1
            continue
        return ChainVerification(False, checked, str(row["id"]), int(row["seq"]), reason)
    return ChainVerification(True, checked)
