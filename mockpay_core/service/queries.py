"""Reads: one payment, cursor pages, a payment's history, audit verification, metrics.

Every read of a payment is scoped to its tenant: another tenant's id is ``NotFound``.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timedelta

from mockpay_core.domain.audit import ChainVerification, verify_chain
from mockpay_core.domain.model import Page, Payment
from mockpay_core.domain.money import parse_currency
from mockpay_core.domain.states import Status
from mockpay_core.domain.validation import choice, collect
from mockpay_core.errors import NotFound, ValidationError
from mockpay_core.service.context import Context
from mockpay_core.storage.protocol import PaymentFilter

LIST_LIMIT_DEFAULT = 10
LIST_LIMIT_MAX = 100
CURSOR_LEN_MAX = 512
SEARCH_LEN_MAX = 100
SCAN_ROWS_MAX = 1_000_000


def encode_cursor(payment: Payment) -> str:
    return _encode_key(payment.created_at, payment.id)


def _encode_key(created_at: datetime, payment_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), payment_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    bad = ValidationError("Invalid cursor", "cursor")
    if not isinstance(cursor, str) or len(cursor) > CURSOR_LEN_MAX:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, payment_id = json.loads(raw)
        when = datetime.fromisoformat(created_at)
    except (binascii.Error, ValueError, TypeError):
        raise bad from None
    if not isinstance(payment_id, str) or when.tzinfo is None:
        raise bad
    return when, payment_id


def _limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise ValidationError("must be a whole number", "limit")
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise ValidationError(f"must be between 1 and {LIST_LIMIT_MAX}", "limit")
    return limit


def _search(search: object) -> str | None:
    if search is None:
        return None
    if not isinstance(search, str):
        raise ValidationError("must be text", "search")
    if len(search) > SEARCH_LEN_MAX:
        raise ValidationError(f"must be at most {SEARCH_LEN_MAX} characters", "search")
    return search.strip().lower() or None


def get_payment(ctx: Context, tenant_id: str, payment_id: str) -> Payment:
    with ctx.store.reader() as r:
        payment = r.get_payment(tenant_id, payment_id)
    if payment is None:
        raise NotFound("payment", payment_id)
    return payment


def list_payments(
    ctx: Context,
    tenant_id: str,
    *,
    limit: object = LIST_LIMIT_DEFAULT,
    status: object = None,
    currency: object = None,
    cursor: object = None,
    search: object = None,
    scan_rows: object = None,
) -> Page[Payment]:
    """Newest first by (created_at, id); ``next_cursor`` continues after the last row.
    ``search``: text in the description or the customer, any case. ``scan_rows``: look at
    no more than that many payments after the cursor, so that a filter matching few rows
    costs a bounded scan; the page may then be short, or empty, with ``has_more`` and a
    cursor past the rows it looked at."""
    n, state, cur, before, text, window = collect(
        lambda: _limit(limit),
        lambda: None if status is None else choice(status, "status", tuple(Status)),
        lambda: None if currency is None else parse_currency(currency),
        lambda: None if cursor is None else decode_cursor(cursor),  # type: ignore[arg-type]
        lambda: _search(search),
        lambda: _scan_rows(scan_rows),
    )
    with ctx.store.reader() as r:
        # The window's last row: found along the page index, so a scan bounded by it is too.
        edge = None if window is None else r.payment_key(tenant_id, before, window - 1)
        rows = r.list_payments(tenant_id, PaymentFilter(state, cur, before, text, edge), n + 1)
        if len(rows) > n or edge is None:
            page, has_more = rows[:n], len(rows) > n
            return Page(page, has_more, encode_cursor(page[-1]) if has_more else None)
        if r.payment_key(tenant_id, edge, 0) is None:  # the window reached the oldest
            return Page(rows, False, None)
    return Page(rows, True, _encode_key(*edge))


def _scan_rows(scan_rows: object) -> int | None:
    if scan_rows is None:
        return None
    if isinstance(scan_rows, bool) or not isinstance(scan_rows, int):
        raise ValidationError("must be a whole number", "scan_rows")
    if not 1 <= scan_rows <= SCAN_ROWS_MAX:
        raise ValidationError(f"must be between 1 and {SCAN_ROWS_MAX}", "scan_rows")
    return scan_rows


def verify_audit(ctx: Context, tenant_id: str) -> ChainVerification:
    """Recompute the tenant's hash chain from disk: ok, or the first broken row."""
    with ctx.store.reader() as r:
        return verify_chain(r.audit_chain(tenant_id))


def metrics(ctx: Context, tenant_id: str | None = None) -> dict[str, object]:
    now = ctx.clock.now()
    with ctx.store.reader() as r:
        data = r.metrics(now - timedelta(hours=24), tenant_id)
        webhooks = r.delivery_metrics(tenant_id)
    return {"generated_at": now.isoformat(), **data, "webhooks": webhooks}
