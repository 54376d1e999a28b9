"""Id sources: SystemIds' UUIDv7 layout and uniqueness across threads; SeededIds replays."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from mockpay_core.ids import SeededIds, SystemIds

RANDOM_74 = (1 << 74) - 1


def _random_bits(u: str) -> int:
    value = uuid.UUID(u).int
    return (value >> 64 & 0xFFF) << 62 | value & ((1 << 62) - 1)


def test_system_ids_are_version_7_time_ordered_and_unique() -> None:
    ids = SystemIds()
    made = [ids.uuid() for _ in range(10_000)]
    parsed = [uuid.UUID(u) for u in made]
    assert all(p.version == 7 and p.variant == uuid.RFC_4122 for p in parsed)
    assert len(set(made)) == len(made)
    assert len({_random_bits(u) for u in made}) == len(made)
    prefixes = [p.int >> 80 for p in parsed]
    assert prefixes == sorted(prefixes)  # milliseconds never go back


def test_system_ids_from_many_threads_never_repeat() -> None:
    ids = SystemIds()
    with ThreadPoolExecutor(4) as pool:
        batches = pool.map(lambda _: [ids.uuid() for _ in range(2_000)], range(4))
        made = [u for batch in batches for u in batch]
    assert len(set(made)) == len(made) == 8_000


def test_seeded_ids_replay() -> None:
    a, b = SeededIds(7), SeededIds(7)
    assert [a.uuid() for _ in range(5)] == [b.uuid() for _ in range(5)]
    assert a.token_bytes(16) == b.token_bytes(16)
    assert all(0 <= _random_bits(u) <= RANDOM_74 for u in (a.uuid(), SystemIds().uuid()))
