"""Server configuration: flags of ``mockpay serve``, or ``MOCKPAY_*`` environment variables."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mockpay_core.config import DAY_S, EngineConfig, LedgerConfig
from mockpay_core.domain.fees import FIXED_MINOR_MAX, RATE_BP_MAX, FeeSchedule
from mockpay_core.storage.open import is_postgres_url

_LEDGER = LedgerConfig()  # the ledger settings' defaults are the engine's
_FEES = _LEDGER.fees

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

    settlement_delay_s: Annotated[int, Field(ge=0, le=90 * DAY_S)] = _LEDGER.settlement_delay_s
    """The ledger: a capture's money moves from pending to available this long after it."""
    payout_interval_s: Annotated[int, Field(ge=3600, le=31 * DAY_S)] = _LEDGER.payout_interval_s
    """... scheduled payouts sweep each tenant's available balance once per such window."""
    payout_failure_p: Annotated[float, Field(ge=0, le=1)] = _LEDGER.payout_failure_p
    """... the share of payouts that fail (their money comes back to available)."""
    fee_rate_bp: Annotated[int, Field(ge=0, le=RATE_BP_MAX)] = _FEES.rate_bp
    """The default fee schedule (a tenant's own, set by the admin, wins): basis points of
    each capture, ..."""
    fee_fixed_minor: Annotated[int, Field(ge=0, le=FIXED_MINOR_MAX)] = _FEES.fixed_minor
    """... plus this many minor units, ..."""
    dispute_fee_minor: Annotated[int, Field(ge=0, le=FIXED_MINOR_MAX)] = _FEES.dispute_fee_minor
    """... a dispute's fee, ..."""
    refund_returns_fee: bool = _FEES.refund_returns_fee
    """... and whether refunds give their share of the fee back."""

    workers: Annotated[int, Field(ge=1, le=64)] = 1
    """Server processes on the database (``mockpay serve --workers``; set for each)."""
    writers: Annotated[int, Field(ge=1, le=8)] | None = None
    """Writer threads per process (server/calls.py). Unset: 2 on PostgreSQL with one
    process (a batch's work overlaps the COMMIT of the one before), else 1 (several
    processes overlap already; SQLite has one write lock)."""

    def engine_config(self) -> EngineConfig:
        fees = FeeSchedule(
            rate_bp=self.fee_rate_bp, fixed_minor=self.fee_fixed_minor,
            dispute_fee_minor=self.dispute_fee_minor, refund_returns_fee=self.refund_returns_fee,
        )  # fmt: skip
        ledger = LedgerConfig(
            settlement_delay_s=self.settlement_delay_s, payout_interval_s=self.payout_interval_s,
            payout_failure_p=self.payout_failure_p, fees=fees,
        )  # fmt: skip
        return EngineConfig(seed_default_fraud_rules=self.default_fraud_rules, ledger=ledger)

    def writer_threads(self) -> int:
        if self.writers is not None:
            return self.writers
        return 2 if is_postgres_url(self.db) and self.workers == 1 else 1

    def engine_threads(self) -> int:
        if self.threads is not None:
            return self.threads
        return THREADS_POSTGRES if is_postgres_url(self.db) else THREADS_SQLITE
