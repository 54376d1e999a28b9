"""A short-lived cache of API key -> tenant, so most requests skip a database read.

A key never changes owner and tenants are never deleted, so a cached entry can only be
stale in its rate-limit tier or webhook secret. Entries live ``TTL_S``; this process drops
a tenant's entries at once when it changes that tenant (``forget``); other processes see
the change within ``TTL_S``. Unknown keys are not cached: they always reach the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from mockpay_core import Tenant

TTL_S: Final = 2.0
ENTRIES_MAX: Final = 10_000


class KeyCache:
    def __init__(self, ttl_s: float = TTL_S, timer: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s, self._timer = ttl_s, timer
        self._entries: dict[str, tuple[Tenant, float]] = {}

    def get(self, api_key: str) -> Tenant | None:
        entry = self._entries.get(api_key)
        if entry is None or entry[1] <= self._timer():
            return None
        return entry[0]

    def put(self, api_key: str, tenant: Tenant) -> None:
        if len(self._entries) >= ENTRIES_MAX:
            self._entries.clear()  # rare: only with more live keys than this
        self._entries[api_key] = (tenant, self._timer() + self._ttl_s)

    def forget(self, tenant_id: str) -> None:
        """Drop every entry of ``tenant_id`` (after this process changed it)."""
        stale = [k for k, (t, _) in self._entries.items() if t.id == tenant_id]
        for key in stale:
            self._entries.pop(key, None)
