"""Request ids: random version-4 UUIDs, made without a system call."""

from __future__ import annotations

import uuid

from server.middleware import new_request_id


def test_request_ids_are_well_formed_distinct_version_4_uuids() -> None:
    ids = [new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:1000]:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)
