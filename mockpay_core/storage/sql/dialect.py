"""What differs between the databases the shared queries run on, and nothing else.

Queries in ``storage/sql`` are written once with ``?`` placeholders; a ``Dialect`` renders
each into its driver's text once (at import), encodes parameters and decodes columns by
their ``Kind``, and supplies the few clauses the two databases spell differently. The
shape is Django's ``BaseDatabaseOperations``: one subclass per database
(``storage/sqlite/dialect.py``, ``storage/postgres/dialect.py``).
"""

from __future__ import annotations

import json
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar, Final

from mockpay_core.storage.sql.schema import Kind

Codec = Callable[[Any], Any]
Row = Sequence[Any]
dumps: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class Dialect(ABC):
    """The base spells SQLite's defaults; subclasses override where their database differs
    and must spell the three that have no default."""

    name: ClassVar[str]
    # Row locks a unit of work takes before it reads what it will change ("" where the
    # whole database is locked for the writer, as SQLite's BEGIN IMMEDIATE does).
    for_update: ClassVar[str] = ""
    for_no_key_update: ClassVar[str] = ""
    skip_locked: ClassVar[str] = ""
    # Ends a subquery the planner must run as written (PostgreSQL: ``OFFSET 0``).
    fence: ClassVar[str] = ""

    def render(self, sql: str) -> str:
        """``sql`` with ``?`` placeholders in the driver's own style."""
        return sql

    def encoder(self, kind: Kind) -> Codec | None:
        """How a Python value of ``kind`` becomes a parameter (None: as it is)."""
        if kind is Kind.JSON:
            return dumps
        return None

    def decoder(self, kind: Kind) -> Codec | None:
        """How a column of ``kind`` becomes a Python value (None: as it is)."""
        return None

    @abstractmethod
    def time_text(self, value: Any) -> str:
        """A TIME column as the ISO 8601 text the audit chain hashes."""

    def any_of(self, column: str, count: int) -> str:
        """``column`` equal to any of ``count`` values (``any_params`` passes them)."""
        return f"{column} IN ({', '.join('?' * count)})"

    def any_params(self, values: Sequence[Any]) -> list[Any]:
        return list(values)

    def json_text(self, expr: str) -> str:
        """A JSON column read as its text."""
        return expr

    @abstractmethod
    def seconds_between(self, later: str, earlier: str) -> str:
        """SQL for the seconds from ``earlier`` to ``later`` (two TIME expressions)."""

    def unindexed(self, column: str) -> str:
        """``column`` in a form no index serves, so that the planner takes the index of
        another condition (SQLite plans without statistics; PostgreSQL has them)."""
        return column

    @abstractmethod
    def whole_minutes_between(self, later: str, earlier: str) -> str:
        """SQL for the whole minutes from ``earlier`` to ``later``, rounded down (exact to
        the second: a time on a minute's boundary is in that minute)."""

    def export_expr(self, name: str, kind: Kind) -> str:
        """A column in SQLite's representation (times as text, booleans 0/1, JSON text)."""
        return f'"{name}"'

    @abstractmethod
    def translate_errors(self) -> AbstractContextManager[None]:
        """Driver exceptions become ``mockpay_core.errors`` exceptions here, and nowhere else."""


def immutable_message(error: str) -> str:
    """What a refused change of an append-only table says: which log refused it."""
    return (
        "The ledger is append-only"
        if "ledger_entries" in error
        else ("The audit log is append-only")
    )


def encode_time(dialect: Dialect, when: datetime | None) -> Any:
    encode = dialect.encoder(Kind.TIME)
    return when if when is None or encode is None else encode(when)


class Mapper:
    """Rows of ``names`` (their kinds in ``kinds``) into ``build(**fields)``; the record's
    ``_enums`` (``Record`` classes) are turned from text into their enum on the way."""

    __slots__ = ("_build", "_decoders", "_enums", "names")

    def __init__(
        self,
        dialect: Dialect,
        columns: Sequence[tuple[str, Kind]],
        build: Callable[..., Any],
    ) -> None:
        self.names = tuple(name for name, _ in columns)
        self._build = build
        self._decoders = [
            (i, fn) for i, (_, kind) in enumerate(columns) if (fn := dialect.decoder(kind))
        ]
        enums: dict[str, type[Enum]] = getattr(build, "_enums", {})
        self._enums = [(i, enums[n]) for i, n in enumerate(self.names) if n in enums]

    def values(self, row: Row) -> list[Any]:
        values = list(row)
        for i, decode in self._decoders:
            if values[i] is not None:
                values[i] = decode(values[i])
        for i, enum in self._enums:
            if values[i] is not None:
                values[i] = enum(values[i])
        return values

    def __call__(self, row: Row) -> Any:
        return self._build(**dict(zip(self.names, self.values(row), strict=True)))

    def many(self, rows: Iterator[Row] | Sequence[Row]) -> list[Any]:
        return [self(r) for r in rows]


class Params:
    """A record's fields ``names`` as the parameters of an INSERT (enums by value)."""

    __slots__ = ("_encoders", "_get")

    def __init__(self, dialect: Dialect, columns: Sequence[tuple[str, Kind]]) -> None:
        names = [name for name, _ in columns]
        self._get = operator.attrgetter(*names)
        self._encoders = [
            (i, fn) for i, (_, kind) in enumerate(columns) if (fn := dialect.encoder(kind))
        ]

    def __call__(self, record: object) -> list[Any]:
        values = list(self._get(record))
        for i, value in enumerate(values):
            if isinstance(value, Enum):
                values[i] = value.value
        for i, encode in self._encoders:
            if values[i] is not None:
                values[i] = encode(values[i])
        return values
