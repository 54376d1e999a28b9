"""Per-tenant rate limits by tier, counted on the engine's clock (fixed windows).

A simulated clock makes limits testable: advance it and the window resets. Counters live in
the server process, so N server processes allow N times the limit (documented).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from mockpay_core import Clock
from mockpay_core.errors import MockPayError

Tier = tuple[int, int]  # (requests, window seconds)
TIERS: dict[str, Tier | None] = {
    "standard": (100_000, 900),  # an ordinary integration-test suite never gets near it
    "original": (100, 900),  # MockPay's 100 requests per 15 minutes
    "unlimited": None,
}
TENANTS_TRACKED_MAX = 100_000


@dataclass(frozen=True, slots=True)
class Decision:
    limit: int
    remaining: int
    reset_s: int
    window_s: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
            "RateLimit-Policy": f"{self.limit};w={self.window_s}",
        }


class RateLimited(MockPayError):
    code = "rate_limited"

    def __init__(self, decision: Decision) -> None:
        super().__init__(
            f"Too many requests: {decision.limit} per {decision.window_s} s for this tenant;"
            f" retry in {decision.reset_s} s",
            details={"retry_after_s": decision.reset_s},
        )
        self.decision = decision


class RateLimiter:
    def __init__(self, clock: Clock, tiers: dict[str, Tier | None] | None = None) -> None:
        self._clock, self._tiers = clock, tiers or TIERS
        self._windows: dict[str, tuple[int, int]] = {}  # tenant -> (window number, count)
        self._lock = threading.Lock()

    def check(self, tenant_id: str, tier: str) -> Decision | None:
        """Count one request; ``RateLimited`` when over. None for an unlimited tier."""
        rule = self._tiers.get(tier, self._tiers["standard"])
        if rule is None:
            return None
        limit, window_s = rule
        now_s = self._clock.now().timestamp()
        window = math.floor(now_s / window_s)
        with self._lock:
            seen, count = self._windows.get(tenant_id, (window, 0))
            count = count + 1 if seen == window else 1
            if len(self._windows) >= TENANTS_TRACKED_MAX and tenant_id not in self._windows:
                self._windows.clear()  # bounded memory; at worst, one window is forgiven
            self._windows[tenant_id] = (window, count)
        reset_s = max(1, math.ceil((window + 1) * window_s - now_s))
        decision = Decision(limit, max(0, limit - count), reset_s, window_s)
        if count > limit:
            raise RateLimited(decision)
        return decision
