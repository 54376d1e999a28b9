"""The server freezes its start-up heap, so full collections do not stall requests."""

from __future__ import annotations

import gc

from server.app import GC_THRESHOLDS
from server.testing import running_server


def test_startup_freezes_the_heap_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    gc.unfreeze()
    try:
        with running_server() as server:
            assert gc.get_freeze_count() > 10_000  # FastAPI's routes, models, the engine
            assert gc.get_threshold() == GC_THRESHOLDS
            assert server.app.state.engine is not None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
