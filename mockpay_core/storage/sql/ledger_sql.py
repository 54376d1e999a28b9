"""The ledger's statements and mappers, written once and rendered per dialect."""

from __future__ import annotations

from typing import Final

from mockpay_core.domain.ledger import Account, Direction, Kind
from mockpay_core.domain.model import LedgerEntry, Payout
from mockpay_core.storage.sql import schema as s
from mockpay_core.storage.sql.dialect import Dialect, Mapper, Params

SIGNED: Final = (
    f"sum(CASE WHEN direction = '{Direction.CREDIT.value}' THEN amount_minor"
    " ELSE -amount_minor END)"
)
# A capture's pending entry not yet followed by its settlement (the ledger_unsettled index).
_UNSETTLED: Final = (
    f"e.kind = '{Kind.CAPTURE.value}' AND e.account = '{Account.PENDING.value}'"
    " AND NOT EXISTS (SELECT 1 FROM ledger_entries x WHERE x.tenant_id = e.tenant_id"
    f" AND x.transaction_id = '{Kind.SETTLEMENT.value}:' || e.source_id)"
)


def _names(table: s.Table, prefix: str = "") -> str:
    return ", ".join(prefix + n for n in table.names)


class LedgerSql:
    """Every ledger statement of one dialect."""

    def __init__(self, d: Dialect) -> None:
        r = d.render
        entries, payouts = _names(s.LEDGER_ENTRIES), _names(s.PAYOUTS)
        self.entry = Mapper(d, s.LEDGER_ENTRIES.columns, LedgerEntry)
        self.entry_params = Params(d, s.LEDGER_ENTRIES.columns)
        self.fee_params = Params(d, s.FEES.columns)
        self.payout = Mapper(d, s.PAYOUTS.columns, Payout)
        self.payout_params = Params(d, s.PAYOUTS.columns)
        self.head = r(
            "SELECT seq, hash FROM ledger_entries WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1"
        )
        self.page = r(
            f"SELECT {entries} FROM ledger_entries WHERE tenant_id = ? AND seq > ?"
            " ORDER BY seq LIMIT ?"
        )
        self.latest = r(
            f"SELECT {entries} FROM ledger_entries WHERE tenant_id = ? ORDER BY seq DESC LIMIT ?"
        )
        self.transaction = r(
            f"SELECT {entries} FROM ledger_entries WHERE tenant_id = ? AND transaction_id = ?"
            " ORDER BY seq"
        )
        self.chain = r(f"SELECT {entries} FROM ledger_entries WHERE tenant_id = ? ORDER BY seq")
        self.balances = r(
            f"SELECT currency, account, {SIGNED} FROM ledger_entries WHERE tenant_id = ?"
            " GROUP BY currency, account ORDER BY currency, account"
        )
        self.unbalanced = r(
            f"SELECT transaction_id, currency, {SIGNED} FROM ledger_entries WHERE tenant_id = ?"
            f" GROUP BY transaction_id, currency HAVING {SIGNED} <> 0 ORDER BY transaction_id"
        )
        self.due_settlements = r(
            f"SELECT {_names(s.LEDGER_ENTRIES, 'e.')} FROM ledger_entries e"
            f" WHERE e.available_on <= ? AND {_UNSETTLED} ORDER BY e.available_on, e.id LIMIT ?"
        )
        self.insert_fee = r(
            f"INSERT INTO fees ({_names(s.FEES)}) VALUES ({', '.join('?' * len(s.FEES.names))})"
        )
        self.fee_charged = r(
            "SELECT coalesce(sum(amount_minor), 0) FROM fees WHERE tenant_id = ?"
            f" AND payment_id = ? AND kind = '{Kind.CAPTURE.value}'"
        )
        schedule = _names(s.FEE_SCHEDULES)
        self.fee_schedule = r(
            f"SELECT {schedule} FROM fee_schedules WHERE tenant_id = ? AND currency = ?"
        )
        kept = ", ".join(f"{n} = excluded.{n}" for n in s.FEE_SCHEDULES.names[2:])
        self.put_fee_schedule = r(
            f"INSERT INTO fee_schedules ({schedule}) VALUES"
            f" ({', '.join('?' * len(s.FEE_SCHEDULES.names))})"
            f" ON CONFLICT (tenant_id, currency) DO UPDATE SET {kept}"
        )
        self.insert_payout = r(
            f"INSERT INTO payouts ({payouts}) VALUES ({', '.join('?' * len(s.PAYOUTS.names))})"
        )
        self.payouts = r(
            f"SELECT {payouts} FROM payouts WHERE tenant_id = ?"
            " ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        self.payout_by_id = r(f"SELECT {payouts} FROM payouts WHERE tenant_id = ? AND id = ?")
        self.sources = tuple(
            (name, r(sql))
            for name, sql in (
                ("payments", "SELECT currency, 'captured', sum(captured_minor) FROM payments"
                 " WHERE tenant_id = ? GROUP BY currency"),
                ("authorized", "SELECT currency, 'authorized', sum(amount_minor) FROM payments"
                 " WHERE tenant_id = ? AND status = 'authorized' GROUP BY currency"),
                ("unsettled", "SELECT p.currency, 'unsettled',"
                 " sum(p.captured_minor - coalesce(f.amount_minor, 0)) FROM payments p"
                 " LEFT JOIN fees f ON f.tenant_id = p.tenant_id AND f.payment_id = p.id"
                 f" AND f.kind = '{Kind.CAPTURE.value}'"
                 " WHERE p.tenant_id = ? AND p.captured_minor > 0 AND NOT EXISTS (SELECT 1"
                 " FROM ledger_entries x WHERE x.tenant_id = p.tenant_id"
                 f" AND x.transaction_id = '{Kind.SETTLEMENT.value}:' || p.id)"
                 " GROUP BY p.currency"),
                ("refunds", "SELECT currency, 'refunded', sum(amount_minor) FROM refunds"
                 " WHERE tenant_id = ? GROUP BY currency"),
                ("disputes", "SELECT currency, 'dispute_' || status, sum(amount_minor)"
                 " FROM disputes WHERE tenant_id = ? GROUP BY currency, status"),
                ("fees", "SELECT currency, 'fees_' || kind, sum(amount_minor) FROM fees"
                 " WHERE tenant_id = ? GROUP BY currency, kind"),
                ("payouts", "SELECT currency, 'payouts_' || status, sum(amount_minor)"
                 " FROM payouts WHERE tenant_id = ? GROUP BY currency, status"),
            )
        )  # fmt: skip
        self._inserts: dict[int, str] = {}
        self._render = r

    def insert_entries(self, rows: int) -> str:
        """One INSERT of ``rows`` entries (a transaction's: at most three, so on PostgreSQL
        at most 45 parameters, under psycopg's 50 for a cached statement)."""
        sql = self._inserts.get(rows)
        if sql is None:
            one = f"({', '.join('?' * len(s.LEDGER_ENTRIES.names))})"
            sql = self._inserts[rows] = self._render(
                f"INSERT INTO ledger_entries ({_names(s.LEDGER_ENTRIES)}) VALUES"
                f" {', '.join([one] * rows)}"
            )
        return sql
