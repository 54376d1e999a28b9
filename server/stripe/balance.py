"""/v1/balance, /v1/balance_transactions (list, retrieve) and /v1/payouts (create, list,
retrieve): the tenant's ledger as Stripe shows it (``balance_views``).

A balance transaction list reads the tenant's newest ``ENTRIES_SCAN_MAX`` ledger entries
(about a thousand transactions; docs/stripe.md), newest first; a retrieve reads its one
ledger transaction. Payouts list the newest ``PAYOUTS_MAX`` (the engine's limit).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mockpay_core import Engine
from mockpay_core.domain.ledger import Kind
from mockpay_core.domain.model import LedgerEntry
from mockpay_core.errors import NotFound, ValidationError
from mockpay_core.service.payouts import PAYOUTS_LIMIT_MAX
from server.deps import Calls_, Tenant_
from server.stripe import balance_views, ids, paging, params
from server.stripe.errors import RESPONSES, StripeRoute
from server.stripe.intents import respond
from server.stripe.openapi import PAGING, form, query

router = APIRouter(route_class=StripeRoute, responses=RESPONSES, tags=["stripe"])
ENTRIES_SCAN_MAX: Final = 3000
PAYOUTS_MAX: Final = PAYOUTS_LIMIT_MAX
_TYPES: Final = frozenset(kind for kind, _ in balance_views.TYPES.values())
_PAYOUT_STATUSES: Final = frozenset({"paid", "failed", "pending", "in_transit", "canceled"})


@router.get("/balance", summary="Retrieve the Balance")
async def balance(t: Tenant_, c: Calls_) -> JSONResponse:
    return respond(balance_views.balance(await c.read(lambda e: e.balance(t.id))), False)


def transactions(entries: list[LedgerEntry], complete: bool) -> list[dict[str, Any]]:
    """Newest-first entries as newest-first BalanceTransactions; unless ``complete``, the
    oldest transaction read may have lost entries to the scan's limit and is left out."""
    groups: dict[str, list[LedgerEntry]] = {}
    for e in entries:
        groups.setdefault(e.transaction_id, []).append(e)
    if not complete and groups:
        groups.pop(next(reversed(groups)))
    settled = {g[0].source_id for g in groups.values() if g[0].kind == Kind.SETTLEMENT.value}
    return [
        balance_views.balance_transaction(group[::-1], group[0].source_id in settled)
        for group in groups.values()
        if group[0].kind in balance_views.KINDS
    ]


def _filtered(rows: list[dict[str, Any]], sent: dict[str, Any]) -> list[dict[str, Any]]:
    kind, currency = params.text(sent, "type"), params.text(sent, "currency")
    source = params.text(sent, "source")
    if kind is not None and kind not in _TYPES:
        raise ValidationError(f"type must be one of {', '.join(sorted(_TYPES))}", "type")
    return [
        r for r in rows
        if (kind is None or r["type"] == kind) and (source is None or r["source"] == source)
        and (currency is None or r["currency"] == currency.lower())
    ]  # fmt: skip


@router.get("/balance_transactions", summary="List BalanceTransactions, newest first",
            openapi_extra=query(*PAGING, "type", "currency", "source"))  # fmt: skip
async def balance_transactions(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)

    def read(e: Engine) -> list[dict[str, Any]]:
        newest = e.latest_ledger(t.id, ENTRIES_SCAN_MAX)
        return transactions(newest, len(newest) < ENTRIES_SCAN_MAX)

    rows = _filtered(await c.read(read), sent)
    return respond(paging.listing(rows, sent, "/v1/balance_transactions"), False)


def _has(e: Engine, tenant_id: str, payment_id: str) -> bool:
    """Has the payment's capture settled?"""
    try:
        e.ledger_transaction(tenant_id, f"{Kind.SETTLEMENT.value}:{payment_id}")
    except NotFound:
        return False
    return True


@router.get("/balance_transactions/{transaction}", summary="Retrieve a BalanceTransaction")
async def balance_transaction(transaction: str, t: Tenant_, c: Calls_) -> JSONResponse:
    transaction_id = balance_views.transaction_of(transaction)

    def read(e: Engine) -> dict[str, Any]:
        try:
            entries = e.ledger_transaction(t.id, transaction_id)
        except NotFound:
            raise NotFound("balance_transaction", transaction) from None
        first = entries[0]
        settled = first.kind == Kind.CAPTURE.value and _has(e, t.id, first.source_id)
        return balance_views.balance_transaction(entries, settled)

    return respond(await c.read(read), False)


@router.post("/payouts", summary="Create a Payout", openapi_extra=form(
    "amount", "currency", required=("amount", "currency")))  # fmt: skip
async def create_payout(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    unknown = sorted(set(sent) - {"amount", "currency"})
    if unknown:  # Stripe takes more (description, metadata, ...): we keep none of them
        raise ValidationError(f"Received unsupported parameter: {unknown[0]}", unknown[0])
    amount = params.integer(sent, "amount", required=True)
    currency = params.text(sent, "currency", required=True)
    assert amount is not None and currency is not None
    key = params.idempotency_key(request)
    out = await c.write(
        lambda e: e.create_payout(t.id, currency=currency, idempotency_key=key,
                                  amount=params.major(amount, currency)), t.id,
    )  # fmt: skip
    return respond(balance_views.payout(out.value), out.replayed)


@router.get("/payouts", summary="List Payouts, newest first",
            openapi_extra=query(*PAGING, "status"))  # fmt: skip
async def payouts(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    status = params.text(sent, "status")
    if status is not None and status not in _PAYOUT_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(sorted(_PAYOUT_STATUSES))}",
                              "status")  # fmt: skip
    found = await c.read(lambda e: e.payouts(t.id, PAYOUTS_MAX))
    rows = [balance_views.payout(p) for p in found if status is None or p.status == status]
    return respond(paging.listing(rows, sent, "/v1/payouts"), False)


@router.get("/payouts/{payout}", summary="Retrieve a Payout")
async def payout(payout: str, t: Tenant_, c: Calls_) -> JSONResponse:
    (payout_id,) = ids.decode("payout", payout)
    return respond(balance_views.payout(await c.read(lambda e: e.get_payout(t.id, payout_id))),
                   False)  # fmt: skip
