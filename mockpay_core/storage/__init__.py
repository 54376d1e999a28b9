"""Storage: one Protocol (``protocol``), one adapter per database."""

from mockpay_core.storage.protocol import (
    IdempotencyRecord,
    PaymentFilter,
    Reader,
    Store,
    UnitOfWork,
)

__all__ = ["IdempotencyRecord", "PaymentFilter", "Reader", "Store", "UnitOfWork"]
