"""Stripe's list paging over ours: ``limit``, ``starting_after``, ``ending_before``,
``has_more``, newest first.

Payments page by the engine's cursor. ``ending_before`` (a page backwards, as
``auto_paging_iter`` asks for after one) walks forward from the newest until the object:
at most ``WALK_ROWS_MAX`` rows. Lists built in memory (refunds, disputes, events) page
with ``window``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

from mockpay_core import Engine, Payment
from mockpay_core.errors import NotFound, ValidationError
from mockpay_core.service.queries import encode_cursor
from server.stripe import ids, params, statuses

WALK_ROWS_MAX: Final = 10_000
_WALK_PAGE: Final = 100
T = TypeVar("T")


def payments(
    e: Engine, tenant_id: str, limit: int, starting_after: str | None, ending_before: str | None
) -> tuple[list[Payment], bool]:
    if starting_after and ending_before:
        raise ValidationError(
            "starting_after and ending_before exclude each other", "ending_before"
        )
    if ending_before:
        return _before(e, tenant_id, limit, ids.payment_of(ending_before), ending_before)
    cursor = None
    if starting_after:
        cursor = encode_cursor(e.get_payment(tenant_id, ids.payment_of(starting_after)))
    page = e.list_payments(tenant_id, limit=limit, cursor=cursor)
    return page.data, page.has_more


def charged(
    e: Engine, tenant_id: str, limit: int, starting_after: str | None
) -> tuple[list[Payment], bool]:
    """Payments that have a charge (``statuses.CHARGED``), a full page of them when there
    are enough: a page of intents never confirmed would otherwise be an empty page with
    ``has_more``, on which ``auto_paging_iter`` stops. Reads at most ``WALK_ROWS_MAX``."""
    found: list[Payment] = []
    after, read = starting_after, 0
    while read < WALK_ROWS_MAX:
        rows, more = payments(e, tenant_id, _WALK_PAGE, after, None)
        read += len(rows)
        for p in rows:
            if p.status in statuses.CHARGED:
                if len(found) == limit:
                    return found, True
                found.append(p)
        if not more or not rows:
            break
        after = ids.encode("payment_intent", rows[-1].id)
    return found, False


def _before(
    e: Engine, tenant_id: str, limit: int, payment_id: str, stripe_id: str
) -> tuple[list[Payment], bool]:
    newer: list[Payment] = []
    cursor = None
    while len(newer) < WALK_ROWS_MAX:
        page = e.list_payments(tenant_id, limit=_WALK_PAGE, cursor=cursor)
        for p in page.data:
            if p.id == payment_id:
                return newer[-limit:], len(newer) > limit
            newer.append(p)
        if not page.has_more:
            break
        cursor = page.next_cursor
    raise NotFound("payment_intent", stripe_id)


def window(
    rows: Sequence[T],
    stripe_id: Callable[[T], str],
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
) -> tuple[list[T], bool]:
    """A page of ``rows`` (newest first) around the row whose id is given."""
    order = [stripe_id(r) for r in rows]
    if starting_after:
        if starting_after not in order:
            raise NotFound("object", starting_after)
        rest = list(rows[order.index(starting_after) + 1 :])
        return rest[:limit], len(rest) > limit
    if ending_before:
        if ending_before not in order:
            raise NotFound("object", ending_before)
        newer = list(rows[: order.index(ending_before)])
        return newer[-limit:], len(newer) > limit
    return list(rows[:limit]), len(rows) > limit


def listing(rows: list[dict[str, Any]], sent: dict[str, Any], url: str) -> dict[str, Any]:
    """Stripe's list object of a page of ``rows`` (objects, newest first) as ``sent`` asks."""
    after, before = params.text(sent, "starting_after"), params.text(sent, "ending_before")
    data, more = window(rows, lambda r: str(r["id"]), params.limit(sent), after, before)
    return {"object": "list", "data": data, "has_more": more, "url": url}


def newest_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["created"], r["id"]), reverse=True)
