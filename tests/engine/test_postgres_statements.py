"""PostgreSQL's ``Statements``: INSERTs sent together, savepoints taken when first needed.

On a real connection, with a cursor that records what reaches the server: each test checks
both what was sent and what the tables hold afterwards, so that sending less never changes
what a transaction does.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from mockpay_core import Engine, EngineConfig, SeededIds, SimulatedClock
from mockpay_core.storage.postgres import PostgresStore
from mockpay_core.storage.postgres.statements import PARAMS_MAX, Statements

PARENT = "INSERT INTO parent (id) VALUES (%s)"
CHILD = "INSERT INTO child (seq_note, parent_id) VALUES (%s, %s)"
NOTE = "INSERT INTO note (k, v) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
WIDE = "INSERT INTO wide VALUES (" + ", ".join(["%s"] * 30) + ")"
WIDER = WIDE.replace("wide", "wider")
HOOK = "http://127.0.0.1:4000/hooks"
PARSE_CACHED_MAX = 50  # psycopg parses a statement of more %s parameters on every execution


class Recording(psycopg.Cursor[Any]):
    sent: list[str]

    def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:  # type: ignore[override]
        Recording.sent.append(str(query))
        if params is not None:
            assert len(params) <= PARSE_CACHED_MAX
        return super().execute(query, params, **kw)


class RecordingRaw(psycopg.RawCursor[Any]):
    def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:  # type: ignore[override]
        Recording.sent.append(str(query))
        assert params is None or len(params) <= PARAMS_MAX
        return super().execute(query, params, **kw)


def statements(conn: psycopg.Connection[Any], held: set[str]) -> Statements:
    return Statements(conn, held, raw=RecordingRaw)


@pytest.fixture
def conn(postgres_url: str) -> Iterator[psycopg.Connection[Any]]:
    schema = f"statements_{uuid.uuid4().hex[:12]}"  # its own tables, not MockPay's
    with psycopg.connect(postgres_url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
        c.execute(f"SET search_path = {schema}")
        c.execute("CREATE TABLE parent (id text PRIMARY KEY)")
        c.execute(
            "CREATE TABLE child (seq bigserial PRIMARY KEY, seq_note text,"
            " parent_id text NOT NULL REFERENCES parent (id))"
        )
        c.execute("CREATE TABLE note (k text PRIMARY KEY, v text)")
        for table in ("wide", "wider"):
            c.execute(f"CREATE TABLE {table} (" + ", ".join(f"c{i} int" for i in range(30)) + ")")
        c.execute("BEGIN")
        c.cursor_factory = Recording
        Recording.sent = []
        try:
            yield c
        finally:
            c.execute("ROLLBACK")
            c.execute(f"DROP SCHEMA {schema} CASCADE")


def rows(conn: psycopg.Connection[Any], sql: str) -> list[tuple[Any, ...]]:
    with psycopg.Cursor(conn) as cur:  # not recorded
        return cur.execute(sql).fetchall()


def test_inserts_into_different_tables_go_as_one_statement(conn: Any) -> None:
    s = statements(conn, {PARENT, CHILD})
    s.execute(PARENT, ("p1",))
    s.execute(CHILD, ("a", "p1"))  # its foreign key is checked when the statement ends
    assert Recording.sent == []  # held until something else is sent
    assert s.execute("SELECT count(*) FROM child").fetchone() == (1,)
    assert len(Recording.sent) == 2 and Recording.sent[0].startswith("WITH h1 AS (INSERT")


def test_inserts_into_one_table_keep_their_order(conn: Any) -> None:
    s = statements(conn, {PARENT, CHILD})
    s.execute(PARENT, ("p1",))
    for note in "abc":
        s.execute(CHILD, (note, "p1"))
    s.flush()
    assert [r[0] for r in rows(conn, "SELECT seq_note FROM child ORDER BY seq")] == list("abc")
    assert len(Recording.sent) == 3  # parent + a, then b, then c


def test_an_upsert_sees_the_row_before_it(conn: Any) -> None:
    s = statements(conn, {NOTE})
    s.execute(NOTE, ("k", "1"))
    s.execute(NOTE, ("k", "2"))  # in one statement this would be a cardinality error
    s.flush()
    assert rows(conn, "SELECT v FROM note") == [("2",)]


def test_inserts_sent_as_one_go_in_numbered_placeholders_past_psycopgs_parse_cache(
    conn: Any,
) -> None:
    """61 parameters together: one statement, on the raw cursor (psycopg would parse a
    statement of more than 50 ``%s`` on every execution); a ``%%`` is a ``%`` there."""
    percent = "INSERT INTO note (k, v) VALUES (%s, '100%%')"
    s = statements(conn, {WIDE, WIDER, PARENT, percent})
    s.execute(WIDE, tuple(range(30)))
    s.execute(PARENT, ("p1",))
    s.execute(WIDER, tuple(range(30)))
    s.execute(percent, ("k",))
    s.flush()  # the Recording cursors assert their bounds on every statement
    assert len(Recording.sent) == 1 and "$62" in Recording.sent[0]
    assert "%s" not in Recording.sent[0] and "'100%'" in Recording.sent[0]
    assert rows(conn, "SELECT count(*) FROM wide") == rows(conn, "SELECT count(*) FROM wider")
    assert rows(conn, "SELECT k, v FROM note") == [("k", "100%")]


def test_a_level_that_changes_nothing_sends_no_savepoint(conn: Any) -> None:
    s = statements(conn, {PARENT})
    with s.level():
        s.execute("SELECT 1").fetchone()
    with pytest.raises(LookupError), s.level():
        s.execute("SELECT 1").fetchone()
        raise LookupError
    assert not any("SAVEPOINT" in q for q in Recording.sent)


def test_in_a_pipeline_a_level_of_held_inserts_alone_sends_no_savepoint(conn: Any) -> None:
    """Its INSERTs are sent when it ends, and answered after: nothing of it is ever undone
    to a savepoint (one that fails then loses the transaction), so none is sent; a level
    that fails while its INSERTs are still held drops them unsent."""
    s = statements(conn, {PARENT, CHILD, WIDE, WIDER})
    with conn.pipeline() as s.pipeline:
        with s.level(answered=True):
            s.execute(PARENT, ("p1",))
            s.execute(WIDE, tuple(range(30)))
            s.execute(WIDER, tuple(range(30)))
            s.execute(CHILD, ("a", "p1"))
        with pytest.raises(LookupError), s.level(answered=True):
            s.execute(PARENT, ("p2",))
            raise LookupError
        s.settle()
    assert not any("SAVEPOINT" in q for q in Recording.sent)
    assert len(Recording.sent) == 1  # p1, wide, wider and a: one table each, one statement
    assert rows(conn, "SELECT id FROM parent") == [("p1",)]
    assert rows(conn, "SELECT count(*) FROM wider") == [(1,)]


def test_nested_levels_share_one_savepoint_and_a_failed_inner_one_undoes_only_itself(
    conn: Any,
) -> None:
    s = statements(conn, {PARENT, CHILD})
    with s.level():  # a unit of work
        with s.level():  # a command inside it: ends well
            s.execute(PARENT, ("p1",))
        with pytest.raises(LookupError), s.level():  # fails after its own write
            s.execute(PARENT, ("p2",))
            raise LookupError
        s.execute(CHILD, ("a", "p1"))
    s.flush()
    assert rows(conn, "SELECT id FROM parent") == [("p1",)]
    assert rows(conn, "SELECT seq_note FROM child") == [("a",)]
    savepoints = [q for q in Recording.sent if q.startswith("SAVEPOINT")]
    # The unit's (shared with its first command); the second command's is never sent: it
    # failed with its write still held, which is dropped unsent.
    assert len(savepoints) == 1
    assert not any(q.startswith("RELEASE") for q in Recording.sent)  # commit keeps them


def test_a_failed_outer_level_undoes_what_its_inner_levels_kept(conn: Any) -> None:
    s = statements(conn, {PARENT})
    s.execute(PARENT, ("before",))
    with pytest.raises(LookupError), s.level():
        with s.level():
            s.execute(PARENT, ("inner",))
        s.execute(PARENT, ("outer",))
        raise LookupError
    s.flush()
    assert rows(conn, "SELECT id FROM parent") == [("before",)]


def test_a_database_error_in_held_inserts_is_raised_inside_their_level(conn: Any) -> None:
    s = statements(conn, {PARENT, CHILD})
    s.execute(PARENT, ("p1",))
    with pytest.raises(psycopg.errors.ForeignKeyViolation), s.level():
        s.execute(CHILD, ("orphan", "nobody"))
    s.execute(CHILD, ("kept", "p1"))
    s.flush()
    assert rows(conn, "SELECT seq_note FROM child") == [("kept",)]


# Through the store: the idempotency key tried first, waited for only when held.


@pytest.fixture
def engine(postgres_schema: tuple[str, str]) -> Iterator[Engine]:
    url, schema = postgres_schema
    store = PostgresStore(url, schema=schema, busy_timeout_s=5)
    made = Engine(
        store,
        clock=SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC)),
        ids=SeededIds(5),
        config=EngineConfig(seed_default_fraud_rules=False),
    )
    yield made
    made.close()


def test_a_key_is_held_by_its_tenants_lock_and_a_second_caller_replays(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch holding the tenant sends no lock for the key (every writer locks a key under
    its tenant's lock); a create with the same key in another transaction waits for the
    tenant, then reads the batch's record and replays its answer."""
    tenant = engine.register_tenant("Acme", "a@acme.test").tenant
    store, outcomes, sent = engine.store, [], []
    execute = psycopg.Cursor.execute

    def recorded(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", recorded)

    def second() -> None:
        outcomes.append(engine.create_payment(
            tenant.id, amount=10, currency="USD", webhook_url=HOOK, idempotency_key="shared"
        ))  # fmt: skip

    with store.batch([tenant.id]):
        first = engine.create_payment(
            tenant.id, amount=10, currency="USD", webhook_url=HOOK, idempotency_key="shared"
        ).value
        other = threading.Thread(target=second)
        other.start()
        time.sleep(0.3)  # the other transaction waits for the tenant meanwhile
        assert other.is_alive() and not outcomes
    other.join(10)
    assert sent and not any("advisory" in q for q in sent)
    assert outcomes[0].replayed and outcomes[0].value.id == first.id
    assert [p.id for p in engine.list_payments(tenant.id, limit=10).data] == [first.id]


def test_a_data_modifying_with_is_a_change_and_takes_the_savepoint(conn: Any) -> None:
    s = statements(conn, {PARENT})
    with pytest.raises(LookupError), s.level():
        s.execute("WITH made AS (INSERT INTO parent (id) VALUES ('w') RETURNING id) SELECT 1")
        raise LookupError
    assert Recording.sent[0].startswith("SAVEPOINT")
    assert rows(conn, "SELECT id FROM parent") == []
