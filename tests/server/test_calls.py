"""``EngineCalls``: commands batched on one writer thread, answered only once committed, on
every database a server can share (an SQLite file, PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mockpay_core import Engine, EngineConfig, SeededIds, SimulatedClock
from mockpay_core.errors import BatchLost, StorageError, ValidationError
from mockpay_core.storage.protocol import Store
from server.calls import EngineCalls
from tests.conftest import make_store_factory

HOOK = "http://127.0.0.1:4000/hooks"


class Setup:
    """An engine on a shared database, and a second store on it: another connection."""

    def __init__(self, factory: Callable[[], Store]) -> None:
        config = EngineConfig(seed_default_fraud_rules=False)
        clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))
        self.engine = Engine(factory(), clock=clock, ids=SeededIds(8), config=config)
        self.outside = factory()

    def committed(self) -> int:
        """Payments another connection sees."""
        with self.outside.tables() as tables:
            return sum(len(c) for c in tables.chunks("payments", [("id", "TEXT")]))


@pytest.fixture(params=["sqlite-file", "postgres"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    made = Setup(make_store_factory(request.param, tmp_path, request))
    yield made
    made.outside.close()


def test_commands_waiting_together_share_a_commit_and_fail_alone(setup: Setup) -> None:
    engine = setup.engine
    calls = EngineCalls(engine)
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    amounts: list[object] = [10, 20, -1, 30, 40, 50, 60, 70]  # -1: a bad request

    def create(i: int, amount: object) -> Engine:
        def run(e: Engine) -> object:
            out = e.create_payment(
                tenant.id, amount=amount, currency="USD", webhook_url=HOOK,
                idempotency_key=f"k{i}",
            )  # fmt: skip
            return out.value.amount_minor

        return run  # type: ignore[return-value]

    seen: list[int] = []

    async def main() -> list[object]:
        # Hold the tenant (and on SQLite the write lock) while every command is queued.
        with engine.store.batch([tenant.id]):
            tasks = [
                asyncio.ensure_future(calls.write(create(i, a), tenant.id))
                for i, a in enumerate(amounts)
            ]
            for task in tasks:  # what another connection sees as each answer arrives
                task.add_done_callback(lambda _: seen.append(setup.committed()))
            await asyncio.sleep(0.3)
            assert not any(t.done() for t in tasks)
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(main())
    calls.close()
    assert isinstance(results[2], ValidationError)
    assert [r for i, r in enumerate(results) if i != 2] == [
        1000,
        2000,
        3000,
        4000,
        5000,
        6000,
        7000,
    ]
    assert seen == [7] * 8  # nobody heard back before the batch was committed
    # the writer took the first, waited for the lock, then took the seven queued meanwhile
    assert (calls.batches, calls.commands) == (1, 8)
    engine.close()


def test_a_write_that_fails_after_its_command_returned_fails_alone(setup: Setup) -> None:
    """On PostgreSQL a create's INSERTs are answered with the next command's first read: one
    that fails all the same loses the batch (``BatchLost``), and the writer runs each
    command again alone, so that only the one at fault fails, with its own error."""
    engine = setup.engine
    calls = EngineCalls(engine)
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    existing = engine.create_payment(
        tenant.id, amount=5, currency="USD", webhook_url=HOOK, idempotency_key="k0"
    ).value

    def duplicate(e: Engine) -> None:
        with e.store.unit_of_work() as uow:
            uow.insert_payment(replace(existing, idempotency_key="again"))  # its id, again

    def create(key: str) -> Callable[[Engine], str]:
        return lambda e: (
            e.create_payment(
                tenant.id, amount=5, currency="USD", webhook_url=HOOK, idempotency_key=key
            ).value.id
        )

    commands = [create("k1"), create("k2"), duplicate, create("k3"), create("k4")]

    async def main() -> list[object]:
        with engine.store.batch([tenant.id]):  # all five queue, then run as one batch
            tasks = [asyncio.ensure_future(calls.write(c, tenant.id)) for c in commands]
            await asyncio.sleep(0.3)
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(main())
    calls.close()
    assert isinstance(results[2], StorageError) and not isinstance(results[2], BatchLost)
    assert all(isinstance(r, str) for i, r in enumerate(results) if i != 2), results
    assert setup.committed() == 5
    assert engine.verify_audit(tenant.id).ok
    engine.close()


def test_two_writers_answer_every_command_once(setup: Setup) -> None:
    """Two writer threads (PostgreSQL's default with one server process) take turns at the
    queue: each command runs once, in one of their batches, and every tenant's chain stays
    whole (their batches lock the tenants in one order)."""
    engine = setup.engine
    calls = EngineCalls(engine, writers=2)
    tenants = [engine.register_tenant(f"T{n}", f"t{n}@x.test").tenant for n in range(4)]

    def create(tenant_id: str, key: str) -> Callable[[Engine], str]:
        return lambda e: (
            e.create_payment(
                tenant_id, amount=5, currency="USD", webhook_url=HOOK, idempotency_key=key
            ).value.id
        )

    async def main() -> list[str]:
        tasks = [
            calls.write(create(tenants[n % 4].id, f"k{n}"), tenants[n % 4].id) for n in range(40)
        ]
        return await asyncio.gather(*tasks)

    ids = asyncio.run(main())
    assert len(calls._writers) <= 2
    calls.close()
    assert len(set(ids)) == 40 and setup.committed() == 40 and calls.commands == 40
    assert all(engine.verify_audit(t.id).ok for t in tenants)
    engine.close()


def test_reads_see_what_writes_answered(setup: Setup) -> None:
    engine = setup.engine
    calls = EngineCalls(engine)
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant

    async def main() -> int:
        out = await calls.write(
            lambda e: e.create_payment(
                tenant.id, amount=5, currency="USD", webhook_url=HOOK, idempotency_key="k"
            ),
            tenant.id,
        )
        page = await calls.read(lambda e: e.list_payments(tenant.id))
        assert [p.id for p in page.data] == [out.value.id]
        return len(page.data)

    assert asyncio.run(main()) == 1
    calls.close()
    calls.close()  # twice is harmless
    engine.close()


def test_a_cancelled_request_does_not_disturb_the_others(setup: Setup) -> None:
    engine = setup.engine
    calls = EngineCalls(engine)
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant

    def create(key: str):  # type: ignore[no-untyped-def]
        return lambda e: (
            e.create_payment(
                tenant.id, amount=5, currency="USD", webhook_url=HOOK, idempotency_key=key
            ).value.id
        )

    async def main() -> str:
        with engine.store.batch([tenant.id]):
            gone = asyncio.ensure_future(calls.write(create("gone"), tenant.id))
            kept = asyncio.ensure_future(calls.write(create("kept"), tenant.id))
            await asyncio.sleep(0.1)
            gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        return await kept

    assert asyncio.run(main())
    calls.close()
    assert setup.committed() == 2  # the command ran: its client only stopped listening
    engine.close()


def test_an_idle_writer_ends_and_the_next_command_starts_another(setup: Setup) -> None:
    engine = setup.engine
    calls = EngineCalls(engine, idle_exit_s=0.1)
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant

    async def create(key: str) -> str:
        out = await calls.write(
            lambda e: e.create_payment(
                tenant.id, amount=5, currency="USD", webhook_url=HOOK, idempotency_key=key
            ),
            tenant.id,
        )
        return out.value.id

    async def main() -> None:
        await create("first")
        (writer,) = calls._writers
        await asyncio.sleep(0.5)
        assert not writer.is_alive() and not calls._writers  # nothing left holding it
        await create("second")

    asyncio.run(main())
    calls.close()
    assert calls.commands == 2
    engine.close()
