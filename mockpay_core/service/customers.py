"""Customers (the Stripe face's ``cus_``): a name, an email, a description and metadata.

Each command is idempotent like the payment commands. Deleting keeps the row
(``deleted_at``): later reads are ``not_found``, and the payments that name it keep their
``customer``. A PaymentIntent created with ``customer=cus_...`` stores that id as the
payment's ``customer``, so the per-customer fraud rules count the Customer's payments.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Final

from mockpay_core.domain import validation as v
from mockpay_core.domain.model import Customer, Outcome
from mockpay_core.domain.validation import collect
from mockpay_core.errors import NotFound, ValidationError
from mockpay_core.service import idempotency
from mockpay_core.service.context import Context
from mockpay_core.service.updates import merged_metadata
from mockpay_core.storage.protocol import UnitOfWork

LIST_MAX: Final = 1000  # a list reads at most this many of the newest


def _email(value: object) -> str | None:
    email = v.optional_text(value, "email", v.EMAIL_LEN_MAX)
    if email is not None and "@" not in email:
        raise ValidationError("must be an email address", "email")
    return email


def create(
    ctx: Context,
    tenant_id: str,
    *,
    email: object = None,
    name: object = None,
    description: object = None,
    metadata: object = None,
    idempotency_key: object = None,
) -> Outcome[Customer]:
    mail, who, desc, meta = collect(
        lambda: _email(email),
        lambda: v.optional_text(name, "name", v.NAME_LEN_MAX),
        lambda: v.optional_text(description, "description", v.DESCRIPTION_LEN_MAX),
        lambda: v.metadata(metadata),
    )

    def execute(uow: UnitOfWork, now: datetime) -> Customer:
        if uow.get_tenant(tenant_id) is None:
            raise NotFound("tenant", tenant_id)
        customer = Customer(ctx.ids.uuid(), tenant_id, mail, who, desc, meta, now, now)
        uow.insert_customer(customer)
        return customer

    params = {"email": mail, "name": who, "description": desc, "metadata": meta}
    return idempotency.run_keyed(
        ctx,
        tenant_id,
        idempotency_key,
        "create_customer",
        None,
        params,
        execute,
        Customer.from_data,
    )


def _live(r: Any, tenant_id: str, customer_id: str) -> Customer:
    found: Customer | None = r.get_customer(tenant_id, customer_id)
    if found is None or found.deleted_at is not None:
        raise NotFound("customer", customer_id)
    return found


def update(
    ctx: Context,
    tenant_id: str,
    customer_id: str,
    *,
    email: object = None,
    name: object = None,
    description: object = None,
    metadata: object = None,
    idempotency_key: object = None,
) -> Outcome[Customer]:
    """Set what is given ("" clears a text field); ``metadata`` merges by Stripe's rules."""
    mail, who, desc, changes = collect(
        lambda: _email(email or None),
        lambda: v.optional_text(name or None, "name", v.NAME_LEN_MAX),
        lambda: v.optional_text(description or None, "description", v.DESCRIPTION_LEN_MAX),
        lambda: v.metadata(metadata),
    )

    def execute(uow: UnitOfWork, now: datetime) -> Customer:
        found = _live(uow, tenant_id, customer_id)
        fields: dict[str, Any] = {"updated_at": now}
        for name_, given, value in (("email", email, mail), ("name", name, who),
                                    ("description", description, desc)):  # fmt: skip
            if given is not None:
                fields[name_] = value
        if metadata is not None:
            fields["metadata"] = merged_metadata(found.metadata, changes, clear=False)
        after = dataclasses.replace(found, **fields)
        uow.update_customer(after)
        return after

    params = {"email": email is not None and mail, "name": name is not None and who,
              "description": description is not None and desc,
              "metadata": changes if metadata is not None else None}  # fmt: skip
    return idempotency.run_keyed(
        ctx,
        tenant_id,
        idempotency_key,
        "update_customer",
        customer_id,
        params,
        execute,
        Customer.from_data,
    )


def delete(
    ctx: Context, tenant_id: str, customer_id: str, *, idempotency_key: object = None
) -> Outcome[Customer]:
    def execute(uow: UnitOfWork, now: datetime) -> Customer:
        after = dataclasses.replace(_live(uow, tenant_id, customer_id), deleted_at=now)
        uow.update_customer(after)
        return after

    return idempotency.run_keyed(
        ctx,
        tenant_id,
        idempotency_key,
        "delete_customer",
        customer_id,
        {},
        execute,
        Customer.from_data,
    )


def get(ctx: Context, tenant_id: str, customer_id: str) -> Customer:
    with ctx.store.reader() as r:
        return _live(r, tenant_id, customer_id)


def listing(ctx: Context, tenant_id: str, email: str | None = None) -> list[Customer]:
    """The tenant's Customers that are not deleted, newest first (at most ``LIST_MAX``)."""
    with ctx.store.reader() as r:
        return r.list_customers(tenant_id, LIST_MAX, email)
