"""Stripe's list paging over ours: ``limit``, ``starting_after``, ``ending_before``,
``has_more``, newest first.

Payments page by the engine's cursor. What the engine cannot ask its store for walks
its pages, at most ``WALK_ROWS_MAX`` rows: ``ending_before`` (a page backwards, as
``auto_paging_iter`` asks for after one) from the newest until the object, the ``created``
filter, charges (payments that have one). Lists built in memory (refunds, disputes,
events) page with ``window``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

from mockpay_core import Engine, Payment
from mockpay_core.errors import NotFound, ValidationError
from mockpay_core.service.queries import encode_cursor
from server.stripe import ids, params, statuses, views

WALK_ROWS_MAX: Final = 10_000
_WALK_PAGE: Final = 100
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Created:
    """Stripe's ``created`` filter: ``created[gt|gte|lt|lte]`` in unix seconds, or
    ``created=<t>`` for that second."""

    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None

    @classmethod
    def of(cls, sent: dict[str, Any]) -> Created | None:
        value = sent.get("created")
        if value is None:
            return None
        if not isinstance(value, dict):
            at = params.integer(sent, "created")
            return cls(gte=at, lte=at)
        unknown = set(value) - {"gt", "gte", "lt", "lte"}
        if unknown:
            raise ValidationError(f"Unknown created filter: {sorted(unknown)[0]}", "created")
        return cls(**{k: params.integer(value, k) for k in value})

    def keeps(self, p: Payment) -> bool:
        return self.keeps_at(p.created_at)

    def keeps_at(self, when: datetime) -> bool:
        return self.keeps_unix(int(when.timestamp()))

    def keeps_unix(self, t: int) -> bool:
        return (
            (self.gt is None or t > self.gt) and (self.gte is None or t >= self.gte)
            and (self.lt is None or t < self.lt) and (self.lte is None or t <= self.lte)
        )  # fmt: skip

    def past(self, p: Payment) -> bool:
        """Older than the filter's lower bound: so is every later row (newest first)."""
        t = int(p.created_at.timestamp())
        return (self.gt is not None and t <= self.gt) or (self.gte is not None and t < self.gte)


def _walk(e: Engine, tenant_id: str, after: Payment | None) -> Iterator[Payment]:
    """The tenant's payments newest first, after ``after``: at most ``WALK_ROWS_MAX``."""
    cursor = None if after is None else encode_cursor(after)
    for _ in range(WALK_ROWS_MAX // _WALK_PAGE):
        page = e.list_payments(tenant_id, limit=_WALK_PAGE, cursor=cursor)
        yield from page.data
        if not page.has_more:
            return
        cursor = page.next_cursor


def payments(
    e: Engine,
    tenant_id: str,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
    keep: Callable[[Payment], bool] | None = None,
    created: Created | None = None,
) -> tuple[list[Payment], bool]:
    """A page of the tenant's payments, newest first, that ``keep`` and ``created`` keep
    (a full page when there are enough: an empty page with ``has_more`` would stop
    ``auto_paging_iter``)."""
    if starting_after and ending_before:
        raise ValidationError(
            "starting_after and ending_before exclude each other", "ending_before"
        )
    if ending_before:
        pivot = e.get_payment(tenant_id, ids.payment_of(ending_before))
        newer: list[Payment] = []
        for p in _walk(e, tenant_id, None):
            if p.id == pivot.id:
                return newer[-limit:], len(newer) > limit
            if _kept(p, keep, created):
                newer.append(p)
        raise NotFound("payment_intent", ending_before)
    after = e.get_payment(tenant_id, ids.payment_of(starting_after)) if starting_after else None
    if keep is None and created is None:  # the engine's own page
        page = e.list_payments(tenant_id, limit=limit, cursor=after and encode_cursor(after))
        return page.data, page.has_more
    found: list[Payment] = []
    for p in _walk(e, tenant_id, after):
        if created is not None and created.past(p):
            break
        if _kept(p, keep, created):
            if len(found) == limit:
                return found, True
            found.append(p)
    return found, False


def _kept(p: Payment, keep: Callable[[Payment], bool] | None, created: Created | None) -> bool:
    return (keep is None or keep(p)) and (created is None or created.keeps(p))


def of_customer(customer: str | None) -> Callable[[Payment], bool] | None:
    """Stripe's ``customer`` filter: the payments of that customer (None: every one)."""
    if customer is None:
        return None
    return lambda p: views.customer_of(p) == customer


def data_expand(sent: dict[str, Any]) -> frozenset[str]:
    """A list's ``expand[]=data.<field>``, as the field names of each object."""
    return frozenset(x.removeprefix("data.") for x in params.expand(sent))


def charged(p: Payment) -> bool:
    """The payment went to the card network: it has a charge."""
    return p.status in statuses.CHARGED


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
    """Stripe's list object of a page of ``rows`` (objects, newest first) as ``sent`` asks
    (paging, and the ``created`` filter)."""
    created = Created.of(sent)
    if created is not None:
        rows = [r for r in rows if created.keeps_unix(int(r["created"]))]
    after, before = params.text(sent, "starting_after"), params.text(sent, "ending_before")
    data, more = window(rows, lambda r: str(r["id"]), params.limit(sent), after, before)
    return {"object": "list", "data": data, "has_more": more, "url": url}


def newest_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["created"], r["id"]), reverse=True)
