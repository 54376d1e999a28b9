"""One way in from a database name: an SQLite path (or ``:memory:``) or a PostgreSQL URL."""

from __future__ import annotations

from typing import Any

from mockpay_core.storage.protocol import Store


def is_postgres_url(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def open_store(db: str, **options: Any) -> Store:
    """``postgresql://...`` opens a ``PostgresStore``, anything else an ``SqliteStore``;
    ``options`` go to the store (e.g. ``busy_timeout_s``). Imports only the driver used."""
    if is_postgres_url(db):
        from mockpay_core.storage.postgres import PostgresStore

        return PostgresStore(db, **options)
    from mockpay_core.storage.sqlite import SqliteStore

    return SqliteStore(db, **options)
