"""Changing a payment's own fields, which is no transition: its metadata, description and
(while it can still be confirmed) its payment method.

Allowed in every state but the payment method's; one audit row with action ``update`` and
the names of the fields that changed, no webhook event (Stripe sends none for these).
A new payment method on a payment the card network declined is the one exception: it is
the table's ``retry`` transition back to ``pending`` (Stripe's ``requires_payment_method``,
confirmed again), not a change in place. Idempotent like every command.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Final

from mockpay_core.domain import validation as v
from mockpay_core.domain.model import Outcome, Payment
from mockpay_core.domain.states import Action, Status, allowed_actions
from mockpay_core.domain.validation import collect
from mockpay_core.errors import InvalidTransition, ValidationError
from mockpay_core.service import transitions
from mockpay_core.service.context import Context
from mockpay_core.service.payments import FAILURE_CODES, PAYMENT_METHOD_LEN_MAX, command
from mockpay_core.storage.protocol import UnitOfWork

# A payment method may change while the payment still waits for the network's answer.
CONFIRMABLE: Final = (Action.SUCCEED, Action.AUTHORIZE, Action.FAIL)


def merged_metadata(
    current: dict[str, str], changes: dict[str, str], clear: bool
) -> dict[str, str]:
    """Stripe's rule: keys are merged in, a key sent empty is removed, ``clear`` empties
    the map first. The result holds the same limits as a create's."""
    kept = {} if clear else dict(current)
    for key, value in changes.items():
        if value == "":
            kept.pop(key, None)
        else:
            kept[key] = value
    return v.metadata(kept)


def update(
    ctx: Context,
    tenant_id: str,
    payment_id: str,
    *,
    metadata: object = None,
    clear_metadata: bool = False,
    description: object = None,
    payment_method: object = None,
    idempotency_key: object = None,
    triggered_by: str = "update_api",
) -> Outcome[Payment]:
    """Merge ``metadata`` in (a key with an empty value is removed; ``clear_metadata``
    first empties it), set ``description`` ("" clears it) and ``payment_method``. A field
    left None is kept. A payment method can change only while the payment is unconfirmed
    (else ``invalid_transition``), or after the card network declined it: then the payment
    is ``pending`` again, its failure code gone (a payment our fraud rules refused stays
    refused)."""
    changes, desc, method, key = collect(
        lambda: v.metadata(metadata),
        lambda: v.optional_text(description or None, "description", v.DESCRIPTION_LEN_MAX),
        lambda: v.optional_text(payment_method, "payment_method", PAYMENT_METHOD_LEN_MAX),
        lambda: v.idempotency_key(idempotency_key, required=False),
    )
    if not isinstance(clear_metadata, bool):
        raise ValidationError("must be a boolean", "clear_metadata")

    def step(uow: UnitOfWork, now: datetime, p: Payment) -> Payment:
        fields: dict[str, Any] = {}
        if metadata is not None or clear_metadata:
            fields["metadata"] = merged_metadata(p.metadata, changes, clear_metadata)
        if description is not None:
            fields["description"] = desc
        if method is not None and Action.RETRY in allowed_actions(p.status):
            return _retry(uow, ctx, now, p, fields | {"payment_method": method}, triggered_by)
        if method is not None:
            if not allowed_actions(p.status) & frozenset(CONFIRMABLE):
                raise InvalidTransition(
                    p.status.value, "update", "A payment method can change only before confirm"
                )
            fields["payment_method"] = method
        changed = sorted(name for name, value in fields.items() if getattr(p, name) != value)
        if not changed:
            return p
        after = dataclasses.replace(p, updated_at=now, **fields)
        transitions.record_change(uow, ctx.ids, now, p, after, triggered_by, {"changed": changed})
        return after

    params = {
        "metadata": changes if metadata is not None else None, "clear_metadata": clear_metadata,
        "description": None if description is None else desc, "payment_method": method,
    }  # fmt: skip
    return command(ctx, tenant_id, payment_id, key, "update", params, step)


def _retry(
    uow: UnitOfWork,
    ctx: Context,
    now: datetime,
    p: Payment,
    fields: dict[str, Any],
    triggered_by: str,
) -> Payment:
    if p.failure_code not in FAILURE_CODES:
        raise InvalidTransition(
            p.status.value, Action.RETRY.value,
            f"A payment refused by fraud rules ({p.failure_code}) cannot be retried",
        )  # fmt: skip
    after = dataclasses.replace(
        p, status=Status.PENDING, failure_code=None, updated_at=now, **fields
    )
    changed = sorted(name for name, value in fields.items() if getattr(p, name) != value)
    meta = {"failure_code": p.failure_code, "changed": changed}
    transitions.apply(uow, ctx, now, p, after, Action.RETRY, triggered_by, meta)
    return after
