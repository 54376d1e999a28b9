"""Id and secret sources: the engine asks one for every id, api key and webhook secret.

Ids are UUIDs laid out as version 7 (RFC 9562): 48 bits that grow over time, then random
bits. New rows therefore land at the right edge of every B-tree index keyed by an id, and
a database of millions of payments keeps its hot pages in cache (random v4 ids scatter
every insert over the whole index).

``SystemIds`` takes the time from the system clock and the bits from the operating system's
CSPRNG; ``SeededIds`` counts instead of reading a clock and draws from a seeded PRNG, so a
simulation run creates the same ids, keys and secrets every time. Never use ``SeededIds``
for a server that real clients talk to: its secrets are predictable.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from typing import Protocol


def uuid7(prefix_48: int, random_74: int) -> str:
    """A version-7 UUID from its ordered 48-bit prefix and 74 random bits."""
    rand_a, rand_b = random_74 >> 62, random_74 & ((1 << 62) - 1)
    value = (prefix_48 & (1 << 48) - 1) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    h = f"{value:032x}"  # formatted by hand: uuid.UUID() costs more than the rest together
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class IdSource(Protocol):
    def uuid(self) -> str:
        """A new time-ordered (version-7 layout) UUID as a string."""
        ...

    def token_bytes(self, n: int) -> bytes:
        """``n`` random bytes (api keys, webhook secrets)."""
        ...


class SystemIds:
    def uuid(self) -> str:
        return uuid7(time.time_ns() // 1_000_000, secrets.randbits(74))

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)


class SeededIds:
    """Reproducible ids from ``seed``; thread-safe, so concurrent runs stay well-formed."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._count = 0

    def uuid(self) -> str:
        with self._lock:
            self._count += 1
            count, bits = self._count, self._rng.getrandbits(74)
        return uuid7(count, bits)

    def token_bytes(self, n: int) -> bytes:
        with self._lock:
            return self._rng.randbytes(n)
