"""The ledger's reads and writes, written once over the dialect: entries (append-only,
chained per tenant), fees, fee schedules and payouts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from mockpay_core.domain.fees import FeeSchedule
from mockpay_core.domain.model import Fee, LedgerEntry, Payout
from mockpay_core.storage.sql.connected import Connected
from mockpay_core.storage.sql.schema import Kind


class LedgerReads(Connected):
    def ledger_head(self, tenant_id: str) -> tuple[int, str] | None:
        row = self._one(self.sql.ledger.head, (tenant_id,))
        return None if row is None else (int(row[0]), str(row[1]))

    def ledger_entries(self, tenant_id: str, after_seq: int, limit: int) -> list[LedgerEntry]:
        rows = self._all(self.sql.ledger.page, (tenant_id, after_seq, limit))
        found: list[LedgerEntry] = self.sql.ledger.entry.many(rows)
        return found

    def latest_ledger_entries(self, tenant_id: str, limit: int) -> list[LedgerEntry]:
        found: list[LedgerEntry] = self.sql.ledger.entry.many(
            self._all(self.sql.ledger.latest, (tenant_id, limit))
        )
        return found

    def ledger_transaction(self, tenant_id: str, transaction_id: str) -> list[LedgerEntry]:
        found: list[LedgerEntry] = self.sql.ledger.entry.many(
            self._all(self.sql.ledger.transaction, (tenant_id, transaction_id))
        )
        return found

    def ledger_chain(self, tenant_id: str) -> Iterator[dict[str, Any]]:
        """Rows with their times as the chained ISO text (what the hash covers)."""
        mapper, dialect = self.sql.ledger.entry, self.sql.dialect
        times = [mapper.names.index(n) for n in ("available_on", "created_at")]
        for row in self._rows(self.sql.ledger.chain, (tenant_id,)):
            values = list(row)
            texts = {i: None if values[i] is None else dialect.time_text(values[i]) for i in times}
            values = mapper.values(values)
            for i, text in texts.items():
                values[i] = text
            yield dict(zip(mapper.names, values, strict=True))

    def ledger_balances(self, tenant_id: str) -> dict[tuple[str, str], int]:
        rows = self._all(self.sql.ledger.balances, (tenant_id,))
        return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}

    def unbalanced_transactions(self, tenant_id: str) -> list[tuple[str, str, int]]:
        rows = self._all(self.sql.ledger.unbalanced, (tenant_id,))
        return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    def due_settlements(self, now: datetime, limit: int) -> list[LedgerEntry]:
        rows = self._all(self.sql.ledger.due_settlements, (self._time(now), limit))
        found: list[LedgerEntry] = self.sql.ledger.entry.many(rows)
        return found

    def fee_schedule(self, tenant_id: str, currency: str) -> FeeSchedule | None:
        row = self._one(self.sql.ledger.fee_schedule, (tenant_id, currency))
        if row is None:
            return None
        return FeeSchedule(
            rate_bp=row[2], fixed_minor=row[3], dispute_fee_minor=row[4],
            refund_returns_fee=bool(row[5]),
        )  # fmt: skip

    def fee_charged(self, tenant_id: str, payment_id: str) -> int:
        row = self._one(self.sql.ledger.fee_charged, (tenant_id, payment_id))
        return 0 if row is None else int(row[0])

    def payouts(self, tenant_id: str, limit: int) -> list[Payout]:
        found: list[Payout] = self.sql.ledger.payout.many(
            self._all(self.sql.ledger.payouts, (tenant_id, limit))
        )
        return found

    def get_payout(self, tenant_id: str, payout_id: str) -> Payout | None:
        row = self._one(self.sql.ledger.payout_by_id, (tenant_id, payout_id))
        return None if row is None else self.sql.ledger.payout(row)

    def ledger_sources(self, tenant_id: str) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for _, sql in self.sql.ledger.sources:
            for currency, name, total in self._all(sql, (tenant_id,)):
                found.setdefault(str(currency), {})[str(name)] = int(total or 0)
        return found


class LedgerWrites(Connected):
    def insert_ledger_entries(self, entries: Sequence[LedgerEntry]) -> None:
        params: list[Any] = []
        for e in entries:
            params += self.sql.ledger.entry_params(e)
        self._conn.execute(self.sql.ledger.insert_entries(len(entries)), params)

    def insert_fee(self, fee: Fee) -> None:
        self._conn.execute(self.sql.ledger.insert_fee, self.sql.ledger.fee_params(fee))

    def put_fee_schedule(
        self, tenant_id: str, currency: str, schedule: FeeSchedule, at: datetime
    ) -> None:
        encode = self.sql.dialect.encoder(Kind.BOOL)
        returns = schedule.refund_returns_fee
        self._conn.execute(
            self.sql.ledger.put_fee_schedule,
            (tenant_id, currency, schedule.rate_bp, schedule.fixed_minor,
             schedule.dispute_fee_minor, returns if encode is None else encode(returns),
             self._time(at)),
        )  # fmt: skip

    def insert_payout(self, payout: Payout) -> None:
        self._conn.execute(self.sql.ledger.insert_payout, self.sql.ledger.payout_params(payout))
