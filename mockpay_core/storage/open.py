"""One way in from a database name: an SQLite path (or ``:memory:``) or a PostgreSQL URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mockpay_core.storage.protocol import Store


def is_postgres_url(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def shown(db: str) -> str:
    """A database name fit to print: a URL's password masked."""
    parts = urlsplit(db)
    if parts.password is None:
        return db
    return db.replace(f":{parts.password}@", ":***@", 1)


def split_schema(url: str) -> tuple[str, str | None]:
    """(url without it, schema) from a ``?schema=`` query parameter (not one libpq knows)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    if schema is None:
        return url, None
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def open_store(db: str, *, simulation: bool = False, **options: Any) -> Store:
    """``postgresql://...`` opens a ``PostgresStore``, anything else an ``SqliteStore``;
    ``options`` go to the store (e.g. ``busy_timeout_s``, ``reset``). ``simulation`` tunes
    it for a throwaway run (no waiting for the disk; SQLite also commits in groups).
    Imports only the driver used. ``StorageUnavailable`` says why a database cannot be
    opened."""
    if is_postgres_url(db):
        from mockpay_core.storage.postgres.store import SIMULATION, PostgresStore

        return PostgresStore(db, **({**SIMULATION, **options} if simulation else options))
    from mockpay_core.storage.sqlite.store import SIMULATION as SQLITE_SIMULATION
    from mockpay_core.storage.sqlite.store import SqliteStore

    return SqliteStore(db, **({**SQLITE_SIMULATION, **options} if simulation else options))
