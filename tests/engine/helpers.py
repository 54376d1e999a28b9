"""Small helpers for engine tests."""

from __future__ import annotations

import itertools
from typing import Any

from mockpay_core import Engine, Payment

HOOK = "http://127.0.0.1:4000/hooks"
_keys = itertools.count()


def create(engine: Engine, tenant_id: str, amount: object = 100, **kw: Any) -> Payment:
    kw.setdefault("currency", "USD")
    kw.setdefault("webhook_url", HOOK)
    kw.setdefault("idempotency_key", f"key-{next(_keys)}")
    return engine.create_payment(tenant_id, amount=amount, **kw).value


def captured(engine: Engine, tenant_id: str, amount: object = 100, **kw: Any) -> Payment:
    p = create(engine, tenant_id, amount, **kw)
    return engine.simulate(tenant_id, p.id, "success").value
