"""The hash chain finds edits, deletions and reorderings."""

from __future__ import annotations

from typing import Any

from mockpay_core.domain.audit import GENESIS, chain_hash, verify_chain


def chain(n: int) -> list[dict[str, Any]]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        row: dict[str, Any] = {
            "id": f"a{seq}", "tenant_id": "t", "payment_id": "p", "seq": seq,
            "old_status": None if seq == 1 else "pending", "new_status": "pending",
            "action": "create", "triggered_by": "test", "metadata": {"n": seq},
            "created_at": f"2026-01-01T00:00:{seq:02d}.000000+00:00",
        }  # fmt: skip
        row["prev_hash"], row["hash"] = prev, chain_hash(prev, row)
        prev = row["hash"]
        rows.append(row)
    return rows


def test_an_intact_chain_verifies() -> None:
    result = verify_chain(chain(5))
    assert result.ok and result.rows_checked == 5 and result.broken_row_id is None


def test_an_edited_field_is_named() -> None:
    rows = chain(5)
    rows[2]["new_status"] = "refunded"
    result = verify_chain(rows)
    assert (result.ok, result.broken_row_id, result.reason) == (
        False, "a3", "hash does not match the row's contents"
    )  # fmt: skip


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link() -> None:
    rows = chain(5)
    rows[1]["metadata"] = {"n": 99}
    rows[1]["hash"] = chain_hash(rows[1]["prev_hash"], rows[1])
    assert verify_chain(rows).broken_row_id == "a3"


def test_a_deleted_row_is_found() -> None:
    rows = chain(5)
    del rows[3]
    result = verify_chain(rows)
    assert result.broken_row_id == "a5" and "missing" in (result.reason or "")
