"""Shared fixtures. Every store-backed test runs on every adapter in ``STORES``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mockpay_core import Engine, EngineConfig, SeededIds, SimulatedClock, Tenant
from mockpay_core.storage.protocol import Store
from mockpay_core.storage.sqlite import SqliteStore

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOOK = "http://127.0.0.1:4000/hooks"

StoreFactory = Callable[[], Store]

STORES = ["sqlite-file", "sqlite-memory"]


def make_store_factory(kind: str, tmp_path: Path) -> StoreFactory:
    if kind == "sqlite-file":
        return lambda: SqliteStore(str(tmp_path / "mockpay.db"))
    if kind == "sqlite-memory":
        return lambda: SqliteStore(":memory:")
    raise ValueError(kind)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Heavyweight ``scale`` tests run only when asked for (``-m scale``)."""
    if "scale" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="scale run: ask for it with -m scale")
    for item in items:
        if "scale" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_factory(store_kind: str, tmp_path: Path) -> StoreFactory:
    return make_store_factory(store_kind, tmp_path)


@pytest.fixture
def store(store_factory: StoreFactory) -> Iterator[Store]:
    s = store_factory()
    yield s
    s.close()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def engine(store: Store, clock: SimulatedClock) -> Engine:
    """An engine with no fraud rules, so tests decide which rules exist."""
    return Engine(
        store, clock=clock, ids=SeededIds(1), config=EngineConfig(seed_default_fraud_rules=False)
    )


@pytest.fixture
def tenant(engine: Engine) -> Tenant:
    return engine.register_tenant("Acme", "dev@acme.test").tenant


@pytest.fixture
def file_engine(tmp_path: Path, clock: SimulatedClock) -> Iterator[Engine]:
    """An engine on a real database file, for concurrency tests (one connection per thread)."""
    engine = Engine(
        SqliteStore(str(tmp_path / "concurrency.db"), busy_timeout_s=30),
        clock=clock,
        config=EngineConfig(seed_default_fraud_rules=False),
    )
    yield engine
    engine.close()
