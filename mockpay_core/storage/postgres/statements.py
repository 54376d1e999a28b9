"""What one PostgreSQL transaction sends, in as few statements as keep its meaning.

On the server's writer a payment's creation costs far more in psycopg's per-statement work
and in waits for answers than in PostgreSQL itself (bench/batch.py counts both), so:

- **One cursor** for every statement of the transaction (a new one per statement cost
  about a third of psycopg's time per statement), and one raw cursor (``$n`` placeholders,
  nothing for psycopg to parse) for the INSERTs sent as one.
- **INSERTs held back and sent as one.** An INSERT whose answer nobody reads (the payment,
  its audit row, its fraud decision, its idempotency record) waits; the INSERTs that follow
  one another go as one data-modifying ``WITH`` statement when anything else is sent.
  Sub-statements of a ``WITH`` share one snapshot and run in no promised order, so nothing
  that must see or follow an earlier row is held with it: every other statement (a read,
  an UPDATE, a lock) sends what is held first, and a statement holds one INSERT per table.
  Foreign keys are checked at the end of the statement, when all its rows exist.
- **Savepoints taken when first needed, never released.** A savepoint (a unit of work in
  a batch, a command inside it) is named at its first change and sent only with the
  first statement after it; one that changed nothing needs none, levels that begin with
  nothing changed share one, and a level that ends well having sent nothing (its changes
  all held) sends none: what it holds is sent bare, and had it failed, dropped unsent. Rolling a
  level back undoes the changes since its savepoint (and every savepoint after it); locks
  it took before its first change (an idempotency key, a payment row: always under its
  tenant's lock, which the batch holds) stay until the transaction ends, which orders
  nothing differently. Tenant locks count as changes, so the tenants a failed unit locked
  are let go, as every writer locks tenants in order. A level that ends well leaves its
  savepoint in place: RELEASE would cost a statement and keep nothing more (the commit
  keeps its changes either way, and PostgreSQL has a subtransaction per savepoint
  whether or not it is released).
- **A level's answers awaited only when they can fail.** A held INSERT cannot fail under
  the locks its unit holds (its keys are fresh ids, or a key whose lock the unit holds; its
  foreign keys are rows the unit locked or wrote), so a level that sent nothing else ends
  without waiting: its answers come with the next statement that is waited for (in a batch,
  the next unit's first read). Should one fail all the same, the transaction is left in
  error past the levels that were still open to undo it: the batch is lost and nothing of
  it commits (``BatchLost``); its caller may run its units again, one at a time.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from typing import Any, Final

import psycopg

HELD_MAX: Final = 16  # statements in one WITH; a unit of work writes at most a handful
# Parameters in one WITH (PostgreSQL takes 65,535). It goes on a raw cursor, in PostgreSQL's
# own ``$n`` placeholders: psycopg caches its parse of ``%s`` placeholders only for
# statements of at most 50 parameters (a create's INSERTs have 61), and parsing on every
# execution cost more than sending two statements.
PARAMS_MAX: Final = 1000
_CHANGES: Final = ("INSERT", "UPDATE", "DELETE", "WITH")


@dataclass(slots=True)
class _Level:
    savepoint: str | None = None  # the savepoint its changes can be undone to
    owner: bool = False  # it took that savepoint (levels inside it may share it)
    bare: bool = False  # it ended with its savepoint unsent: its INSERTs went without one


class Statements:
    """A connection's statements for one transaction: ``execute`` as on a connection (the
    cursor it returns is the one cursor), ``hold`` for INSERTs nobody reads the answer of,
    ``level`` for a savepoint, ``flush`` before anything must have been sent."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        held: Collection[str] = (),
        raw: Callable[[psycopg.Connection[Any]], psycopg.RawCursor[Any]] = psycopg.RawCursor,
    ) -> None:
        """``held``: the INSERT statements ``execute`` holds back; ``raw``: the cursor they
        are sent on when several go as one."""
        self.conn = conn
        self._holdable = frozenset(held)
        self._cursor = conn.cursor()
        self._raw = raw(conn)
        self._asides: list[psycopg.Cursor[Any]] = []
        self._held: list[tuple[str, Sequence[Any]]] = []  # the statement being gathered
        self._held_params = 0
        self._full: list[list[tuple[str, Sequence[Any]]]] = []  # gathered, held still
        self._levels: list[_Level] = []
        self._savepoints = 0
        self._unsent: str | None = None  # the savepoint named last, if not sent yet
        self.unsure = False  # a change not held (which may fail: see above), unanswered
        self.changes = 0  # changes sent or held in this transaction
        self.pipeline: psycopg.Pipeline | None = None  # sent without waiting, if set

    def settle(self) -> None:
        """Send what is held and wait for every answer (errors are raised here)."""
        self.flush()
        if self.pipeline is not None:
            self.pipeline.sync()
        self.unsure = False

    def execute(self, sql: str, params: Any = ()) -> psycopg.Cursor[Any]:
        """Send ``sql`` (after what is held), or hold it if it is one of ``held``."""
        if sql in self._holdable:
            self.hold(sql, params)
            return self._cursor  # its answer is not to be read
        self.flush()
        if sql.lstrip()[:6].upper().startswith(_CHANGES):
            self.cover()
            self.unsure = True
            self.changes += 1
        self._send_savepoint()
        return self._cursor.execute(sql, params)

    def aside(self, sql: str, params: Sequence[Any], slot: int = 0) -> psycopg.Cursor[Any]:
        """Send a read whose answer is wanted after the next statement's, on the cursor of
        ``slot`` (so that the next statement does not take its place; a slot is free again
        once its answer is read, or no longer wanted)."""
        self.flush()
        self._send_savepoint()
        while len(self._asides) <= slot:
            self._asides.append(self.conn.cursor())
        return self._asides[slot].execute(sql, params)

    def hold(self, sql: str, params: Sequence[Any]) -> None:
        """An ``INSERT INTO <table> ...`` (no ``WITH``, no ``RETURNING``), sent later."""
        self.cover()
        if (
            _clashes(sql, self._held)
            or len(self._held) >= HELD_MAX
            or self._held_params + len(params) > PARAMS_MAX
        ):
            if len(self._full) >= HELD_MAX:
                self.flush()
            else:  # a statement of its own, still held (sending it now could need a savepoint)
                self._full.append(self._held)
                self._held, self._held_params = [], 0
        self._held_params += len(params)
        self._held.append((sql, params))
        self.changes += 1

    def flush(self) -> None:
        """Send what is held, as few statements as it takes."""
        if not self._held:
            return
        groups, self._full = [*self._full, self._held], []
        self._held, self._held_params = [], 0
        self._send_savepoint()
        for held in groups:
            if len(held) == 1:
                self._cursor.execute(*held[0])
            else:
                self._raw.execute(_joined(tuple(sql for sql, _ in held)), _params(held))

    def cover(self) -> None:
        """A change is about to be made: the open levels that have changed nothing yet get
        a savepoint (one, shared), after what is held (which is theirs to keep), sent with
        the next statement sent."""
        if not self._levels or self._levels[-1].savepoint is not None:
            return
        self.flush()
        self._savepoints += 1
        name = self._unsent = f"sp{self._savepoints}"
        uncovered = [lv for lv in self._levels if lv.savepoint is None]
        for lv in uncovered:
            lv.savepoint = name
        uncovered[0].owner = True

    @contextmanager
    def level(self, *, answered: bool = False) -> Iterator[None]:
        """A savepoint level: its changes undone if the block raises (after every answer is
        in, so that a failed statement's error is raised before the rollback is sent);
        ``answered``: the answers waited for when it ends well too, if it sent a change
        that may fail (not a held INSERT), so that its errors are raised while it can
        still be undone."""
        lv = _Level()
        self._levels.append(lv)
        try:
            yield
            if lv.owner:
                if self._unsent == lv.savepoint and self.pipeline is not None:
                    # Nothing of it sent, and what it holds answers after it ends (an
                    # INSERT that fails then loses the transaction): sent bare.
                    self._unsent, lv.bare = None, True
                self.flush()  # what it holds fails inside it, where it can be undone
            if answered and self.unsure:
                self.settle()
        except BaseException:
            self._undo(lv)
            raise
        finally:
            if self._levels and self._levels[-1] is lv:
                self._levels.pop()

    def _undo(self, lv: _Level) -> None:
        self._levels.pop()
        if lv.savepoint is None:  # it changed nothing
            return
        self._held, self._held_params, self._full = [], 0, []  # since its savepoint: its own
        if self._unsent == lv.savepoint:  # nothing of it was sent: nothing to undo
            if lv.owner:
                self._unsent = None
            return
        if lv.bare:  # failed sending what it held without a savepoint: nothing to undo to
            return
        with contextlib.suppress(psycopg.Error):  # its own failure, raised already
            self.settle()
        self._cursor.execute(f"ROLLBACK TO SAVEPOINT {lv.savepoint}")

    def _send_savepoint(self) -> None:
        if self._unsent is not None:
            name, self._unsent = self._unsent, None
            self._cursor.execute(f"SAVEPOINT {name}")

    @property
    def open_levels(self) -> int:
        return len(self._levels)


def _target(sql: str) -> str:
    return sql.split(None, 3)[2]  # INSERT INTO <table> ...


def _clashes(sql: str, held: list[tuple[str, Sequence[Any]]]) -> bool:
    """One INSERT per table in a statement: PostgreSQL runs the parts of a ``WITH`` in an
    order of its own (serial columns such as ``deliveries.seq`` would be numbered out of
    order), and an upsert would not see the rows inserted beside it."""
    table = _target(sql)
    return any(_target(h) == table for h, _ in held)


_JOINED: dict[tuple[str, ...], str] = {}
_PERCENT: Final = re.compile(r"%%|%s")


def _joined(statements: tuple[str, ...]) -> str:
    """``WITH h1 AS (s1), h2 AS (s2) s3`` with ``$n`` placeholders: one statement, rendered
    once per sequence."""
    found = _JOINED.get(statements)
    if found is None:
        parts = [f"h{i} AS ({s})" for i, s in enumerate(statements[:-1], 1)]
        found = _numbered(f"WITH {', '.join(parts)} {statements[-1]}")
        if len(_JOINED) < 1024:  # a few dozen sequences occur; a bound all the same
            _JOINED[statements] = found
    return found


def _numbered(sql: str) -> str:
    """psycopg's ``%s`` (and ``%%``) in PostgreSQL's spelling, ``$1, $2, ...`` (and ``%``)."""
    numbers = count(1)
    return _PERCENT.sub(lambda m: "%" if m.group() == "%%" else f"${next(numbers)}", sql)


def _params(held: list[tuple[str, Sequence[Any]]]) -> list[Any]:
    joined: list[Any] = []
    for _, params in held:
        joined.extend(params)
    return joined
