"""What goes over the wire: the original's field names and shapes, plus ours.

Amounts are strings with two decimals (``"5000.00"``), as the original's NUMERIC columns
arrived; times are ISO 8601 UTC with milliseconds and ``Z``, as its JavaScript dates were.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mockpay_core import AuditEntry, Payment, Refund, Tenant
from mockpay_core.domain.delivery import Delivery
from mockpay_core.domain.model import Balance, Dispute, LedgerEntry, Payout
from mockpay_core.domain.money import format_major

PLACES = 2


def ts(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def money(minor: int | None, currency: str) -> str | None:
    return None if minor is None else format_major(minor, currency, PLACES)


def payment(p: Payment) -> dict[str, Any]:
    return {
        "id": p.id,
        "amount": money(p.amount_minor, p.currency),
        "currency": p.currency,
        "status": p.status.value,
        "webhook_url": p.webhook_url,
        "idempotency_key": p.idempotency_key,
        "refund_amount": money(p.refunded_minor, p.currency) if p.refunded_minor else None,
        "refunded_at": ts(p.refunded_at),
        "refund_reason": p.refund_reason,
        "created_at": ts(p.created_at),
        "updated_at": ts(p.updated_at),
        "capture_method": p.capture_method.value,
        "captured_amount": money(p.captured_minor, p.currency),
        "disputed_amount": money(p.disputed_minor, p.currency),
        "amount_minor": p.amount_minor,
        "customer": p.customer,
        "description": p.description,
        "metadata": p.metadata,
        "failure_code": p.failure_code,
        "expires_at": ts(p.expires_at),
    }


def refund(r: Refund) -> dict[str, Any]:
    return {
        "id": r.id,
        "payment_id": r.payment_id,
        "amount": money(r.amount_minor, r.currency),
        "currency": r.currency,
        "reason": r.reason,
        "created_at": ts(r.created_at),
    }


def dispute(d: Dispute) -> dict[str, Any]:
    return {
        "id": d.id,
        "payment_id": d.payment_id,
        "amount": money(d.amount_minor, d.currency),
        "currency": d.currency,
        "reason": d.reason,
        "status": d.status.value,
        "created_at": ts(d.created_at),
        "resolved_at": ts(d.resolved_at),
    }


def audit(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "old_status": e.old_status,
        "new_status": e.new_status,
        "action": e.action,
        "triggered_by": e.triggered_by,
        "metadata": e.metadata,
        "created_at": ts(e.created_at),
        "seq": e.seq,
        "hash": e.hash,
    }


def tenant(t: Tenant) -> dict[str, Any]:
    """A tenant as admins see it: never its key or its webhook secret."""
    return {
        "tenant_id": t.id,
        "name": t.name,
        "email": t.email,
        "rate_limit_tier": t.rate_limit_tier,
        "created_at": ts(t.created_at),
    }


def dead_letter(d: Delivery, webhook_url: str, attempts_max: int) -> dict[str, Any]:
    """A dead event in the original's ``failed_jobs`` shape, plus why it died."""
    return {
        "job_id": d.event_id, "payment_id": d.payment_id, "tenant_id": d.tenant_id,
        "webhook_url": webhook_url, "attempts": d.attempts, "max_attempts": attempts_max,
        "created_at": ts(d.created_at), "failed_at": ts(d.dead_at), "reason": d.dead_reason,
        "last_error": d.last_error, "payload": d.payload,
    }  # fmt: skip


def balance(b: Balance) -> dict[str, Any]:
    c = b.currency
    return {
        "currency": c,
        "available": money(b.available_minor, c), "pending": money(b.pending_minor, c),
        "reserved": money(b.reserved_minor, c), "authorized": money(b.authorized_minor, c),
        "available_minor": b.available_minor, "pending_minor": b.pending_minor,
        "reserved_minor": b.reserved_minor, "authorized_minor": b.authorized_minor,
    }  # fmt: skip


def ledger_entry(e: LedgerEntry) -> dict[str, Any]:
    return {
        "id": e.id, "seq": e.seq, "transaction_id": e.transaction_id, "kind": e.kind,
        "source_id": e.source_id, "payment_id": e.payment_id, "account": e.account,
        "currency": e.currency, "direction": e.direction,
        "amount": money(e.amount_minor, e.currency), "amount_minor": e.amount_minor,
        "available_on": ts(e.available_on), "created_at": ts(e.created_at), "hash": e.hash,
    }  # fmt: skip


def payout(p: Payout) -> dict[str, Any]:
    return {
        "id": p.id, "currency": p.currency, "amount": money(p.amount_minor, p.currency),
        "amount_minor": p.amount_minor, "status": p.status.value,
        "failure_code": p.failure_code, "method": p.method, "created_at": ts(p.created_at),
    }  # fmt: skip
