"""Helpers of the contract suite: does a unit of work on another thread meet a lock this
thread holds (``StorageBusy`` within the store's lock wait)? Which stores are known to
break a promise?"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from mockpay_core.errors import MockPayError, StorageBusy
from mockpay_core.storage.protocol import Store, UnitOfWork

LOCK_WAIT_S = 0.3
JOIN_TIMEOUT_S = 20.0


def elsewhere(store: Store, action: Callable[[UnitOfWork], object]) -> MockPayError | None:
    """What a unit of work on another thread, doing ``action``, raised (None: it
    committed)."""
    outcome: list[MockPayError | None] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with store.unit_of_work() as uow:
                action(uow)
            outcome.append(None)
        except MockPayError as exc:
            outcome.append(exc)
        except BaseException as exc:  # reported on the test's thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(JOIN_TIMEOUT_S)
    assert not thread.is_alive(), "the other unit of work waited past its lock timeout"
    if errors:
        raise errors[0]
    return outcome[0]


def busy_elsewhere(store: Store, action: Callable[[UnitOfWork], object]) -> bool:
    """True when a unit of work on another thread, doing ``action``, gives up on a lock
    (``StorageBusy``); False when it commits."""
    found = elsewhere(store, action)
    if found is not None and not isinstance(found, StorageBusy):
        raise found
    return found is not None


def known_difference(request: pytest.FixtureRequest, prefix: str, reason: str) -> None:
    """Mark the running test an expected failure (strict) on the stores whose kind starts
    with ``prefix``: a difference between stores, or a bug, that a contract test shows and
    the adapters do not fix yet."""
    params = request.node.callspec.params
    kind = params.get("store_kind", params.get("shared_store", ""))
    if str(kind).startswith(prefix):
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
