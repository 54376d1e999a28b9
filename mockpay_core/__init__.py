"""MockPay Lab's engine: a payment gateway simulator over SQLite (or PostgreSQL).

Importing this package opens nothing; ``Engine.open`` does.
"""

from mockpay_core.clock import Clock, SimulatedClock, SystemClock
from mockpay_core.config import EngineConfig
from mockpay_core.domain.model import (
    AuditEntry,
    CaptureMethod,
    Dispute,
    DisputeReceipt,
    DisputeStatus,
    Event,
    NewTenant,
    Outcome,
    Page,
    Payment,
    Refund,
    RefundReceipt,
    Tenant,
)
from mockpay_core.domain.states import TRANSITIONS, Action, Status
from mockpay_core.engine import Engine
from mockpay_core.errors import MockPayError
from mockpay_core.ids import IdSource, SeededIds, SystemIds

__all__ = [
    "TRANSITIONS", "Action", "AuditEntry", "CaptureMethod", "Clock", "Dispute",
    "DisputeReceipt", "DisputeStatus", "Engine", "EngineConfig", "Event", "IdSource",
    "MockPayError", "NewTenant", "Outcome", "Page", "Payment", "Refund", "RefundReceipt",
    "SeededIds", "SimulatedClock", "Status", "SystemClock", "SystemIds", "Tenant",
]  # fmt: skip
