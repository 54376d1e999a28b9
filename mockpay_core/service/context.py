"""What every service function is handed: the store and the injected clock, ids and config."""

from __future__ import annotations

from dataclasses import dataclass

from mockpay_core.clock import Clock
from mockpay_core.config import EngineConfig
from mockpay_core.ids import IdSource
from mockpay_core.storage.protocol import Store


@dataclass(frozen=True, slots=True)
class Context:
    store: Store
    clock: Clock
    ids: IdSource
    config: EngineConfig
