"""Per-tenant rate limits by tier, counted on the engine's clock (fixed windows).

A simulated clock makes limits testable: advance it and the window resets. The counters
(``Windows``) live in the server process (``LocalWindows``), or, for the processes of
``mockpay serve --workers N``, in a file in shared memory that their supervisor creates
(``SharedWindows``), so that the limit holds for the server as a whole. Separate servers on
one PostgreSQL database still count each on its own (documented).
"""

from __future__ import annotations

import hashlib
import math
import mmap
import os
import tempfile
import threading
from dataclasses import dataclass
from typing import Final, Protocol

from mockpay_core import Clock
from mockpay_core.errors import MockPayError

try:
    import fcntl
except ImportError:  # Windows: no --workers supervisor there, so no shared windows either
    fcntl = None  # type: ignore[assignment]

Tier = tuple[int, int]  # (requests, window seconds)
TIERS: dict[str, Tier | None] = {
    "standard": (100_000, 900),  # an ordinary integration-test suite never gets near it
    "original": (100, 900),  # MockPay's 100 requests per 15 minutes
    "unlimited": None,
}
TENANTS_TRACKED_MAX = 100_000
SLOTS: Final = 8192  # tenants counted at once in shared windows; more forgive one window
PROBES_MAX: Final = 32  # slots looked at for a tenant before its window is forgiven
CELLS: Final = 3  # per slot, as int64: tenant key, window end (epoch s), count


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


class Windows(Protocol):
    def count(self, tenant_id: str, window_end_s: int, now_s: float) -> int:
        """Count one request of the tenant's window that ends at ``window_end_s``; the
        window's count so far, this one included."""
        ...


class LocalWindows:
    """Counters in this process."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}  # tenant -> (window end, count)
        self._lock = threading.Lock()

    def count(self, tenant_id: str, window_end_s: int, now_s: float) -> int:
        with self._lock:
            end_s, count = self._windows.get(tenant_id, (window_end_s, 0))
            count = count + 1 if end_s == window_end_s else 1
            if len(self._windows) >= TENANTS_TRACKED_MAX and tenant_id not in self._windows:
                self._windows.clear()  # bounded memory; at worst, one window is forgiven
            self._windows[tenant_id] = (window_end_s, count)
        return count


class SharedWindows:
    """Counters in a file that several processes map (``create`` makes it): a hash table of
    ``SLOTS`` slots, probed linearly, a slot whose window has ended reused. Each count holds
    an ``flock`` of the file for a few microseconds, which the kernel lets go of if the
    holder dies (a process-shared mutex would stay locked). Linux and other POSIX systems."""

    def __init__(self, path: str) -> None:
        if fcntl is None:
            raise OSError("shared rate-limit windows need fcntl.flock (POSIX)")
        self._fd = os.open(path, os.O_RDWR)
        size = os.fstat(self._fd).st_size
        self._slots = size // (8 * CELLS)
        if self._slots < 1:
            os.close(self._fd)
            raise ValueError(f"{path} is not a table of rate-limit windows")
        self._map = mmap.mmap(self._fd, size)
        self._cells = memoryview(self._map).cast("q")
        self._threads = threading.Lock()  # flock does not exclude threads of one process

    @staticmethod
    def create(slots: int = SLOTS, directory: str | None = None) -> str:
        """A new table, all slots free (in /dev/shm where there is one); its path."""
        if directory is None and os.path.isdir("/dev/shm"):
            directory = "/dev/shm"
        fd, path = tempfile.mkstemp(prefix="mockpay-ratelimit-", dir=directory)
        try:
            os.ftruncate(fd, slots * CELLS * 8)
        finally:
            os.close(fd)
        return path

    def count(self, tenant_id: str, window_end_s: int, now_s: float) -> int:
        key = _key(tenant_id)
        cells, start = self._cells, key % self._slots
        with self._threads:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                free = None
                for probe in range(min(PROBES_MAX, self._slots)):
                    i = CELLS * ((start + probe) % self._slots)
                    found = cells[i]
                    if found == key:
                        count = cells[i + 2] + 1 if cells[i + 1] == window_end_s else 1
                        cells[i + 1], cells[i + 2] = window_end_s, count
                        return count
                    if free is None and (found == 0 or cells[i + 1] <= now_s):
                        free = i
                    if found == 0:  # slots are never emptied: the tenant is not further on
                        break
                i = CELLS * start if free is None else free  # full: forgive one window
                cells[i], cells[i + 1], cells[i + 2] = key, window_end_s, 1
                return 1
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._cells.release()
        self._map.close()
        os.close(self._fd)


def _key(tenant_id: str) -> int:
    """A tenant's slot key: the same in every process (``hash()`` is salted per process),
    never 0 (a free slot)."""
    digest = hashlib.blake2b(tenant_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest) >> 1 | 1


class RateLimiter:
    def __init__(
        self,
        clock: Clock,
        tiers: dict[str, Tier | None] | None = None,
        windows: Windows | None = None,
    ) -> None:
        self._clock, self._tiers = clock, tiers or TIERS
        self._windows = windows or LocalWindows()

    def check(self, tenant_id: str, tier: str) -> Decision | None:
        """Count one request; ``RateLimited`` when over. None for an unlimited tier."""
        rule = self._tiers.get(tier, self._tiers["standard"])
        if rule is None:
            return None
        limit, window_s = rule
        now_s = self._clock.now().timestamp()
        window_end_s = (math.floor(now_s / window_s) + 1) * window_s
        count = self._windows.count(tenant_id, window_end_s, now_s)
        reset_s = max(1, math.ceil(window_end_s - now_s))
        decision = Decision(limit, max(0, limit - count), reset_s, window_s)
        if count > limit:
            raise RateLimited(decision)
        return decision
