"""PostgreSQL's spelling of the shared queries: ``%s`` placeholders, native types, row
locks, and its driver's exceptions translated."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Final

import psycopg
import psycopg_pool
from psycopg import errors as pgerrors

from mockpay_core.errors import AuditImmutable, EmailTaken, StorageBusy, StorageError
from mockpay_core.storage.sql.dialect import Dialect, immutable_message
from mockpay_core.storage.sql.queries import Sql
from mockpay_core.storage.sql.schema import Kind

AUDIT_IMMUTABLE_STATE: Final = "MP001"  # raised by the audit_log trigger (0001_init.sql)
_RETRYABLE: Final = (
    pgerrors.LockNotAvailable,
    pgerrors.DeadlockDetected,
    pgerrors.SerializationFailure,
    pgerrors.QueryCanceled,
)
_UTC_TEXT: Final = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"


@contextmanager
def translate_errors() -> Iterator[None]:
    try:
        yield
    except psycopg_pool.PoolTimeout as exc:
        raise StorageBusy("The database is busy (no free connection); try again") from exc
    except pgerrors.UniqueViolation as exc:
        if exc.diag.constraint_name == "tenants_email_norm_key":  # two registrations raced
            raise EmailTaken("Email already registered") from exc
        raise StorageError(f"Database error: {exc}") from exc
    except _RETRYABLE as exc:
        raise StorageBusy("The database is busy; try again") from exc
    except psycopg.Error as exc:
        if exc.sqlstate == AUDIT_IMMUTABLE_STATE:
            raise AuditImmutable(immutable_message(str(exc))) from exc
        raise StorageError(f"Database error: {exc}") from exc


class PostgresDialect(Dialect):
    """Times and booleans travel as themselves (the session's TimeZone is UTC); psycopg
    loads JSON columns; JSON parameters go as text, which the json columns keep as written."""

    name = "postgresql"
    for_update = " FOR UPDATE"
    # The tenant row's lock leaves foreign-key checks (inserts into payments) unblocked.
    for_no_key_update = " FOR NO KEY UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    # Keeps "an earlier open delivery of this payment" a per-candidate probe of
    # deliveries_open: as an anti-join the planner (with stale statistics on a growing
    # queue) scanned every open delivery per candidate.
    fence = " OFFSET 0"

    def render(self, sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def time_text(self, value: Any) -> str:
        return str(value.isoformat(timespec="microseconds"))

    def any_of(self, column: str, count: int) -> str:
        return f"{column} = ANY(?)"

    def any_params(self, values: Sequence[Any]) -> list[Any]:
        return [list(values)]

    def json_text(self, expr: str) -> str:
        return f"{expr}::text"

    def seconds_between(self, later: str, earlier: str) -> str:
        return f"extract(epoch FROM {later} - {earlier})::float8"

    def whole_minutes_between(self, later: str, earlier: str) -> str:
        return f"floor(extract(epoch FROM {later} - {earlier}) / 60)::int"

    def export_expr(self, name: str, kind: Kind) -> str:
        column = f'"{name}"'
        if kind is Kind.TIME:
            return _UTC_TEXT.format(column)
        if kind is Kind.BOOL:
            return f"{column}::int"
        if kind is Kind.JSON:
            return f"{column}::text"
        return column

    def translate_errors(self) -> AbstractContextManager[None]:
        return translate_errors()


POSTGRES: Final = PostgresDialect()
SQL: Final = Sql(POSTGRES)  # every statement, rendered once
