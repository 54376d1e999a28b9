"""The API-key cache: entries expire, and a tenant this process changed is read afresh."""

from __future__ import annotations

import dataclasses

from mockpay_core import Engine, Tenant
from server.keycache import ENTRIES_MAX, KeyCache


class Timer:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_their_ttl(engine: Engine, tenant: Tenant) -> None:
    timer = Timer()
    cache = KeyCache(ttl_s=2.0, timer=timer)
    cache.put("k", tenant)
    assert cache.get("k") == tenant
    timer.now += 1.99
    assert cache.get("k") == tenant
    timer.now += 0.02
    assert cache.get("k") is None


def test_forget_drops_every_key_of_a_tenant_and_only_those(tenant: Tenant) -> None:
    other = dataclasses.replace(tenant, id="someone-else")
    cache = KeyCache()
    cache.put("a", tenant)
    cache.put("b", tenant)
    cache.put("c", other)
    cache.forget(tenant.id)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, None, other)


def test_the_cache_is_bounded(tenant: Tenant) -> None:
    cache = KeyCache()
    for i in range(ENTRIES_MAX + 5):
        cache.put(f"k{i}", tenant)
    assert len(cache._entries) <= ENTRIES_MAX
