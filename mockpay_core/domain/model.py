"""The engine's records: immutable snapshots that reads and commands return.

Amounts are integer minor units (``amount_minor``); ``mockpay_core.domain.money`` formats
them. Every record converts to and from plain JSON data (``to_data``/``from_data``), which
is how an idempotency record stores a result to replay it identically.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

from mockpay_core.domain.states import Status


class CaptureMethod(StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class DisputeStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class PayoutStatus(StrEnum):
    PAID = "paid"
    FAILED = "failed"


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: Any) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


class Record:
    """Mixin: plain-data conversion for the dataclasses below."""

    __slots__ = ()
    _datetimes: ClassVar[tuple[str, ...]] = ()
    _enums: ClassVar[dict[str, type[StrEnum]]] = {}
    _records: ClassVar[dict[str, type[Record]]] = {}  # fields holding records of their own
    # Fields added after results were first stored for replay: left out while None, so a
    # stored result (and a run's digest of it) reads as it did before they existed.
    _omitted_when_none: ClassVar[frozenset[str]] = frozenset()

    def to_data(self) -> dict[str, Any]:
        data = {}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, StrEnum):
                value = value.value
            elif isinstance(value, Record):
                value = value.to_data()
            elif value is None and name in self._omitted_when_none:
                continue
            data[name] = value
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Any:
        values = dict(data)
        for name in cls._datetimes:
            if values.get(name) is not None:
                values[name] = datetime.fromisoformat(values[name])
        for name, enum in cls._enums.items():
            if values.get(name) is not None:
                values[name] = enum(values[name])
        for name, record in cls._records.items():
            values[name] = record.from_data(values[name])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Tenant(Record):
    id: str
    name: str
    email: str
    webhook_secret: str
    rate_limit_tier: str
    created_at: datetime
    previous_webhook_secret: str | None = None
    secret_rotated_at: datetime | None = None

    _datetimes: ClassVar = ("created_at", "secret_rotated_at")


@dataclass(frozen=True, slots=True)
class NewTenant:
    """A just-registered tenant with its api key: the only time the key is in clear."""

    tenant: Tenant
    api_key: str


@dataclass(frozen=True, slots=True)
class Payment(Record):
    id: str
    tenant_id: str
    amount_minor: int
    currency: str
    status: Status
    capture_method: CaptureMethod
    webhook_url: str
    idempotency_key: str | None
    created_at: datetime
    updated_at: datetime
    captured_minor: int = 0
    refunded_minor: int = 0
    disputed_minor: int = 0  # lost disputes: money returned like a refund
    customer: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    failure_code: str | None = None
    expires_at: datetime | None = None  # authorization expiry
    refunded_at: datetime | None = None  # latest refund, as the original reports it
    refund_reason: str | None = None
    payment_method: str | None = None  # a test payment method (``pm_card_visa``): /v1's
    cancellation_reason: str | None = None

    _datetimes: ClassVar = ("created_at", "updated_at", "expires_at", "refunded_at")
    _omitted_when_none: ClassVar = frozenset({"payment_method", "cancellation_reason"})
    _enums: ClassVar = {"status": Status, "capture_method": CaptureMethod}

    @property
    def returned_minor(self) -> int:
        return self.refunded_minor + self.disputed_minor


@dataclass(frozen=True, slots=True)
class Refund(Record):
    id: str
    payment_id: str
    tenant_id: str
    amount_minor: int
    currency: str
    reason: str | None
    created_at: datetime

    _datetimes: ClassVar = ("created_at",)


@dataclass(frozen=True, slots=True)
class Dispute(Record):
    id: str
    payment_id: str
    tenant_id: str
    amount_minor: int
    currency: str
    reason: str | None
    status: DisputeStatus
    created_at: datetime
    resolved_at: datetime | None = None

    _datetimes: ClassVar = ("created_at", "resolved_at")
    _enums: ClassVar = {"status": DisputeStatus}


@dataclass(frozen=True, slots=True)
class AuditEntry(Record):
    id: str
    tenant_id: str
    payment_id: str
    seq: int
    old_status: str | None
    new_status: str
    action: str
    triggered_by: str
    metadata: dict[str, Any]
    created_at: datetime
    prev_hash: str
    hash: str

    _datetimes: ClassVar = ("created_at",)


@dataclass(frozen=True, slots=True)
class LedgerEntry(Record):
    """One entry of a ledger transaction as stored (``domain.ledger``), chained per tenant
    like the audit log. ``available_on``: when a capture's pending money settles."""

    id: str
    tenant_id: str
    seq: int
    transaction_id: str
    kind: str
    source_id: str
    payment_id: str | None
    account: str
    currency: str
    direction: str
    amount_minor: int
    available_on: datetime | None
    created_at: datetime
    prev_hash: str
    hash: str

    _datetimes: ClassVar = ("available_on", "created_at")


@dataclass(frozen=True, slots=True)
class Fee(Record):
    """A fee charged (a capture's, a dispute's) or given back (a refund's share: negative)."""

    id: str  # the ledger transaction that moved it
    tenant_id: str
    payment_id: str
    kind: str
    currency: str
    amount_minor: int
    created_at: datetime

    _datetimes: ClassVar = ("created_at",)


@dataclass(frozen=True, slots=True)
class Payout(Record):
    """Available money sent to the tenant's bank: ``paid``, or ``failed`` and given back."""

    id: str
    tenant_id: str
    currency: str
    amount_minor: int
    status: PayoutStatus
    failure_code: str | None
    method: str  # scheduled | on_demand
    created_at: datetime

    _datetimes: ClassVar = ("created_at",)
    _enums: ClassVar = {"status": PayoutStatus}


@dataclass(frozen=True, slots=True)
class Balance(Record):
    """A tenant's money in one currency, as its ledger says."""

    currency: str
    available_minor: int
    pending_minor: int
    reserved_minor: int
    authorized_minor: int


@dataclass(frozen=True, slots=True)
class Event(Record):
    """An outbox row: written in the same transaction as the change it announces.
    ``payment_id`` is the id of what it is about: a payment, or for ``payout.*`` a payout."""

    id: str
    tenant_id: str
    payment_id: str
    type: str
    payload: dict[str, Any]
    created_at: datetime
    endpoint_id: str | None = None  # a copy for one WebhookEndpoint (the Stripe face's)

    _datetimes: ClassVar = ("created_at",)
    _omitted_when_none: ClassVar = frozenset({"endpoint_id"})


@dataclass(frozen=True, slots=True)
class Customer(Record):
    """A Stripe Customer (``cus_``): whom payments with ``customer=<its id>`` are for."""

    id: str
    tenant_id: str
    email: str | None
    name: str | None
    description: str | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None

    _datetimes: ClassVar = ("created_at", "updated_at", "deleted_at")


@dataclass(frozen=True, slots=True)
class WebhookEndpoint(Record):
    """Where a tenant wants Stripe-shaped events: ``enabled_events`` are Stripe types or
    ``"*"``; each delivery is signed with ``secret`` (``Stripe-Signature``)."""

    id: str
    tenant_id: str
    url: str
    enabled_events: list[str]
    secret: str
    status: str  # enabled | disabled
    description: str | None
    metadata: dict[str, str]
    api_version: str | None
    created_at: datetime
    deleted_at: datetime | None = None

    _datetimes: ClassVar = ("created_at", "deleted_at")

    def wants(self, event_type: str) -> bool:
        return (
            self.status == "enabled"
            and self.deleted_at is None
            and ("*" in self.enabled_events or event_type in self.enabled_events)
        )


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """A command's result; ``replayed`` when it came from an idempotency record, whose
    plain data (``value.to_data()``, computed once) is ``data`` when there is one."""

    value: T
    replayed: bool = False
    data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RefundReceipt(Record):
    payment: Payment
    refund: Refund

    _records: ClassVar = {"payment": Payment, "refund": Refund}


@dataclass(frozen=True, slots=True)
class DisputeReceipt(Record):
    payment: Payment
    dispute: Dispute

    _records: ClassVar = {"payment": Payment, "dispute": Dispute}


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    data: list[T]
    has_more: bool
    next_cursor: str | None
