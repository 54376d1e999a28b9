"""What every service function is handed: the store and the injected clock, ids and config."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mockpay_core.clock import Clock
from mockpay_core.config import EngineConfig
from mockpay_core.domain.model import Event, Payment, Payout
from mockpay_core.ids import IdSource
from mockpay_core.storage.protocol import Store, UnitOfWork

# More outbox events for one just written (its copies for a tenant's WebhookEndpoints),
# asked for inside that event's unit of work: (uow, ids, event, its subject) -> copies.
Fanout = Callable[[UnitOfWork, IdSource, Event, Payment | Payout], list[Event]]


@dataclass(frozen=True, slots=True)
class Context:
    store: Store
    clock: Clock
    ids: IdSource
    config: EngineConfig
    fanout: Fanout | None = None
