"""Shared fixtures. Every store-backed test runs on every adapter in ``STORES``."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from mockpay_core import Engine, EngineConfig, SeededIds, SimulatedClock, Tenant
from mockpay_core.storage.postgres import PostgresStore
from mockpay_core.storage.protocol import Store
from mockpay_core.storage.sqlite import SqliteStore

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOOK = "http://127.0.0.1:4000/hooks"

StoreFactory = Callable[[], Store]

STORES = ["sqlite-file", "sqlite-memory", "postgres"]
POSTGRES_URL_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_required() -> bool:
    """In CI, or wherever a test database was named, an unreachable PostgreSQL fails."""
    return bool(os.environ.get("CI") or os.environ.get("MOCKPAY_TEST_POSTGRES_URL"))


@functools.cache
def _postgres_problem() -> tuple[str, str | None]:
    url = os.environ.get("MOCKPAY_TEST_POSTGRES_URL") or POSTGRES_URL_DEFAULT
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        return url, f"PostgreSQL unreachable at {url}: {str(exc).strip()}"
    return url, None


def require_postgres() -> str:
    """The test database's URL (``MOCKPAY_TEST_POSTGRES_URL``, or a local default), checked
    once per session; unreachable, the calling test fails in CI and is skipped elsewhere."""
    url, problem = _postgres_problem()
    if problem is not None:
        if postgres_required():
            pytest.fail(f"{problem} (CI or MOCKPAY_TEST_POSTGRES_URL set: this is a failure)")
        pytest.skip(f"{problem} (set MOCKPAY_TEST_POSTGRES_URL to run the PostgreSQL tests)")
    return url


_FREE_SCHEMAS: list[str] = []
# audit_log_no_update, audit_log_no_truncate (0001_init.sql) and the ledger's (0005_ledger.sql)
_APPEND_ONLY_TRIGGERS = 4


def new_schema() -> str:
    """A schema for one test: a migrated one that an earlier test emptied, or a new name.
    Recycling saves the migration and the DROP (about 0.3 s a test)."""
    return _FREE_SCHEMAS.pop() if _FREE_SCHEMAS else f"t_{uuid.uuid4().hex[:16]}"


def drop_schema(url: str, schema: str) -> None:
    """Done with a test's schema: emptied for the next test, or dropped if it was altered
    (say, a test that played an attacker dropped an append-only trigger)."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s"
                " AND tablename <> 'schema_migrations'",
                (schema,),
            )
        ]
        triggers = conn.execute(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname IN ('audit_log', 'ledger_entries')"
            " AND t.tgenabled = 'O'",
            (schema,),
        ).fetchone()
        if tables and triggers == (_APPEND_ONLY_TRIGGERS,):
            with conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")  # past the trigger
                # DELETE, not TRUNCATE: a few rows go faster than new files for 13 tables.
                for table in tables:
                    conn.execute(f'DELETE FROM {schema}."{table}"')  # type: ignore[arg-type]
                conn.execute(f"ALTER TABLE {schema}.deliveries ALTER seq RESTART")  # type: ignore[arg-type]
            _FREE_SCHEMAS.append(schema)
        else:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")  # type: ignore[arg-type]


def pytest_sessionfinish(session: pytest.Session) -> None:
    url, problem = _postgres_problem() if _FREE_SCHEMAS else ("", "nothing to drop")
    if problem is None:
        with psycopg.connect(url, autocommit=True) as conn:
            for schema in _FREE_SCHEMAS:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")  # type: ignore[arg-type]
        _FREE_SCHEMAS.clear()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return require_postgres()


@pytest.fixture
def postgres_schema(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(url, schema): a schema of this test's own, dropped afterwards."""
    url, schema = request.getfixturevalue("postgres_url"), new_schema()
    yield url, schema
    drop_schema(url, schema)


def make_store_factory(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, **options: float
) -> StoreFactory:
    if kind == "sqlite-file":
        return lambda: SqliteStore(str(tmp_path / "mockpay.db"), **options)  # type: ignore[arg-type]
    if kind == "sqlite-memory":
        return lambda: SqliteStore(":memory:")
    if kind == "postgres":
        url, schema = request.getfixturevalue("postgres_schema")
        return lambda: PostgresStore(url, schema=schema, durability="off", **options)  # type: ignore[arg-type]
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
def store_factory(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> StoreFactory:
    return make_store_factory(store_kind, tmp_path, request)


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


@pytest.fixture(params=["sqlite-file", "postgres"])
def file_engine(
    request: pytest.FixtureRequest, tmp_path: Path, clock: SimulatedClock
) -> Iterator[Engine]:
    """An engine on a database many connections share, for concurrency tests (a file, or
    PostgreSQL): one connection per thread."""
    factory = make_store_factory(request.param, tmp_path, request, busy_timeout_s=30)
    engine = Engine(
        factory(),
        clock=clock,
        config=EngineConfig(seed_default_fraud_rules=False),
    )
    yield engine
    engine.close()
