"""What only the PostgreSQL adapter has: migrations under a lock, its locks and error codes,
the PL/pgSQL audit trigger, schemas named in the URL."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from mockpay_core import Engine, EngineConfig, SimulatedClock, Tenant
from mockpay_core.errors import AuditImmutable, EmailTaken, IdempotencyKeyInUse, StorageBusy
from mockpay_core.storage.postgres import PostgresStore
from mockpay_core.storage.postgres.store import migrations, split_schema
from tests.conftest import START
from tests.engine.helpers import captured


@pytest.fixture
def pg(postgres_schema: tuple[str, str]) -> Iterator[tuple[str, str]]:
    yield postgres_schema


def test_processes_opening_a_new_schema_at_once_migrate_it_once(pg: tuple[str, str]) -> None:
    url, schema = pg
    errors: list[Exception] = []

    def open_store() -> None:
        try:
            engine = Engine(PostgresStore(url, schema=schema), clock=SimulatedClock(START))
            engine.close()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = PostgresStore(url, schema=schema)
    with store.raw_connection() as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations")]
    with store.reader() as r:
        rules = r.list_rules()
    store.close()
    assert versions == [v for v, _ in migrations()]
    assert len(rules) == 2  # the default rules, seeded once by six engines


def test_the_audit_log_refuses_update_delete_and_truncate(pg: tuple[str, str]) -> None:
    url, schema = pg
    engine = Engine.open(f"{url}?schema={schema}", clock=SimulatedClock(START),
                         config=EngineConfig(seed_default_fraud_rules=False))  # fmt: skip
    tenant = engine.register_tenant("Acme", "dev@acme.test").tenant
    captured(engine, tenant.id, 100)
    store = engine.store
    assert isinstance(store, PostgresStore)
    for sql in ("UPDATE audit_log SET new_status = 'x'", "DELETE FROM audit_log",
                "TRUNCATE audit_log"):  # fmt: skip
        with pytest.raises(AuditImmutable), store.raw_connection() as conn:
            conn.execute(sql)  # type: ignore[arg-type]
    assert engine.verify_audit(tenant.id).ok
    engine.close()


def test_locks_and_races_become_engine_errors(pg: tuple[str, str]) -> None:
    url, schema = pg
    store = PostgresStore(url, schema=schema, busy_timeout_s=0.2)
    engine = Engine(store, clock=SimulatedClock(START),
                    config=EngineConfig(seed_default_fraud_rules=False))  # fmt: skip
    tenant = engine.register_tenant("Acme", "dev@acme.test").tenant
    with store.unit_of_work() as holder:
        holder.lock_idempotency_key(tenant.id, "busy")
        holder.lock_tenant(tenant.id)
        with pytest.raises(IdempotencyKeyInUse), store.unit_of_work() as uow:
            uow.lock_idempotency_key(tenant.id, "busy")
        with pytest.raises(StorageBusy), store.unit_of_work() as uow:
            uow.lock_tenant(tenant.id)
    with store.unit_of_work() as uow:  # released at commit
        uow.lock_idempotency_key(tenant.id, "busy")
        assert uow.lock_tenant(tenant.id)

    # Two registrations with one email, both past the check before either inserts.
    gate = threading.Barrier(2)
    outcomes: list[str] = []

    def register() -> None:
        with store.unit_of_work() as uow:
            taken = uow.email_registered("twin@acme.test")
            gate.wait()
            if taken:
                outcomes.append("taken")
                return
            me = threading.get_ident()
            new = Tenant(f"t-{me}", "Twin", "twin@acme.test", "whsec_x", "standard", START)
            uow.insert_tenant(new, f"hash-{me}")  # the second fails once the first commits
            outcomes.append("inserted")

    errors: list[Exception] = []

    def run() -> None:
        try:
            register()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["inserted", "inserted"]  # both sent; in a pipeline, errors come later
    assert [type(e) for e in errors] == [EmailTaken]  # the second, when it waits for answers
    assert [t.email for t in engine.list_tenants()].count("twin@acme.test") == 1
    engine.close()


def test_a_schema_can_be_named_in_the_url() -> None:
    assert split_schema("postgresql://u@h:5432/db?schema=lab_1&sslmode=disable") == (
        "postgresql://u@h:5432/db?sslmode=disable",
        "lab_1",
    )
    assert split_schema("postgresql://u@h/db") == ("postgresql://u@h/db", None)
    with pytest.raises(ValueError, match="schema"):
        PostgresStore("postgresql://u@h/db?schema=Robert'); DROP")
