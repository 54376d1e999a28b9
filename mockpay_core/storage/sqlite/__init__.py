"""The SQLite adapter (stdlib sqlite3): the default, embedded store."""

from mockpay_core.storage.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
