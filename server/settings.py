"""Server configuration: flags of ``mockpay serve``, or ``MOCKPAY_*`` environment variables."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mockpay_core.storage.open import is_postgres_url

# Measured with bench/serve.py at 8 connections on SQLite: 2 threads instead of anyio's 40
# took the payment list from 998 to 1,491 req/s and its p99 from 23 to 9 ms.
THREADS_SQLITE = 2
THREADS_POSTGRES = 16


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOCKPAY_", extra="ignore", populate_by_name=True)

    db: str = Field(
        default="mockpay.db",
        validation_alias=AliasChoices("MOCKPAY_DATABASE_URL", "MOCKPAY_DB"),
    )
    """SQLite file (``:memory:`` for a throwaway server) or ``postgresql://`` URL;
    ``MOCKPAY_DATABASE_URL`` wins over ``MOCKPAY_DB``."""
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 3000
    clock: Literal["system", "simulated"] = "system"
    admin_token: Annotated[str, Field(min_length=16)] | None = None
    """Bearer token for /api/admin routes; generated and printed at start-up when unset."""
    body_bytes_max: Annotated[int, Field(ge=1024, le=64 * 1_048_576)] = 1_048_576
    settle_after_s: Annotated[float, Field(gt=0, le=86400)] | None = None
    """The outcome model: settle pending payments this old automatically (off when unset)."""
    settle_success_p: Annotated[float, Field(ge=0, le=1)] = 1.0
    """... succeeding with this probability, failing (card_declined) otherwise."""
    default_fraud_rules: bool = True
    """Install the original's two fraud rules (for every tenant) in a new database."""
    deliver_webhooks: bool = True
    """Run webhook delivery inside the server process (``mockpay worker`` does it otherwise)."""
    durability: Literal["full", "normal", "off"] | None = None
    """How long a COMMIT waits for the disk (see the README's Storage). Unset: each
    database's default, SQLite ``normal`` and PostgreSQL ``full``."""
    threads: Annotated[int, Field(ge=1, le=256)] | None = None
    """Threads per process for admin routes and, on PostgreSQL, every engine call (on
    SQLite, tenant routes go through one writer thread: server/calls.py). Unset: 2 on
    SQLite, 16 on PostgreSQL (calls wait on the network)."""

    workers: Annotated[int, Field(ge=1, le=64)] = 1
    """Server processes on the database (``mockpay serve --workers``; set for each)."""
    writers: Annotated[int, Field(ge=1, le=8)] | None = None
    """Writer threads per process (server/calls.py). Unset: 2 on PostgreSQL with one
    process (a batch's work overlaps the COMMIT of the one before), else 1 (several
    processes overlap already; SQLite has one write lock)."""

    def writer_threads(self) -> int:
        if self.writers is not None:
            return self.writers
        return 2 if is_postgres_url(self.db) and self.workers == 1 else 1

    def engine_threads(self) -> int:
        if self.threads is not None:
            return self.threads
        return THREADS_POSTGRES if is_postgres_url(self.db) else THREADS_SQLITE
