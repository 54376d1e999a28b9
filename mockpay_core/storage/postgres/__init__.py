"""The PostgreSQL adapter (psycopg 3 + psycopg_pool): many processes on one database."""

from mockpay_core.storage.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
