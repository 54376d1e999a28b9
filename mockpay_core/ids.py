"""Id and secret sources: the engine asks one for every id, api key and webhook secret.

``SystemIds`` draws from the operating system's CSPRNG; ``SeededIds`` from a seeded PRNG,
so a simulation run creates the same ids, keys and secrets every time. Never use
``SeededIds`` for a server that real clients talk to: its secrets are predictable.
"""

from __future__ import annotations

import random
import secrets
import threading
import uuid
from typing import Protocol


class IdSource(Protocol):
    def uuid(self) -> str:
        """A new version-4 UUID as a string."""
        ...

    def token_bytes(self, n: int) -> bytes:
        """``n`` random bytes (api keys, webhook secrets)."""
        ...


class SystemIds:
    def uuid(self) -> str:
        return str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)


class SeededIds:
    """Reproducible ids from ``seed``; thread-safe, so concurrent runs stay well-formed."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def uuid(self) -> str:
        with self._lock:
            bits = self._rng.getrandbits(128)
        return str(uuid.UUID(int=bits, version=4))

    def token_bytes(self, n: int) -> bytes:
        with self._lock:
            return self._rng.randbytes(n)
