"""The contract suite's own fixture: a store several connections share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mockpay_core.storage.protocol import Store
from tests.conftest import make_store_factory
from tests.contract.support import LOCK_WAIT_S


@pytest.fixture(params=["sqlite-file", "postgres"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store that several connections share (one per thread), waiting at most
    ``LOCK_WAIT_S`` for a lock. ``:memory:`` is one connection: a second thread would wait
    for it as long as it is held, so it is left out."""
    store = make_store_factory(request.param, tmp_path, request, busy_timeout_s=LOCK_WAIT_S)()
    yield store
    store.close()
