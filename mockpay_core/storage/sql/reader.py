"""Reads, written once over a ``Sql`` (a dialect's statements, mappers and codecs)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from mockpay_core.domain.fraud import FraudRule, RuleSpec
from mockpay_core.domain.model import (
    AuditEntry,
    Customer,
    Dispute,
    Event,
    Payment,
    Refund,
    Tenant,
    WebhookEndpoint,
)
from mockpay_core.storage.protocol import PaymentFilter
from mockpay_core.storage.sql.deliveries import DeliveryReads
from mockpay_core.storage.sql.dialect import Row
from mockpay_core.storage.sql.ledger import LedgerReads
from mockpay_core.storage.sql.metrics import metrics
from mockpay_core.storage.sql.overview import OverviewReads
from mockpay_core.storage.sql.queries import RULE_FIELDS, Sql
from mockpay_core.storage.sql.schema import Kind


@functools.lru_cache(maxsize=1024)
def _rule(row: tuple[Any, ...], decode_time: Any) -> FraudRule:
    """Parsed once per distinct row: rules are read on every create, and rarely change.
    ``values`` is read as JSON text (a row stays hashable)."""
    r = dict(zip(RULE_FIELDS, row, strict=True))
    spec = RuleSpec(
        name=r["name"],
        rule_type=r["rule_type"],
        action=r["action"],
        threshold=None if r["threshold"] is None else Decimal(r["threshold"]),
        window_secs=r["window_secs"],
        scope=r["scope"],
        values=tuple(json.loads(r["values"])),
        is_active=bool(r["is_active"]),
    )
    created, updated = r["created_at"], r["updated_at"]
    if decode_time is not None:
        created, updated = decode_time(created), decode_time(updated)
    return FraudRule(r["id"], spec, created, updated)


class SqlReader(DeliveryReads, LedgerReads, OverviewReads):
    """``Reader``, for any dialect."""

    def _rules(self, rows: list[Row]) -> list[FraudRule]:
        decode = self.sql.dialect.decoder(Kind.TIME)
        return [_rule(tuple(r), decode) for r in rows]

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        row = self._one(self.sql.get_tenant, (tenant_id,))
        return None if row is None else self.sql.tenant(row)

    def tenant_by_key_hash(self, key_hash: str) -> Tenant | None:
        row = self._one(self.sql.tenant_by_key_hash, (key_hash,))
        return None if row is None else self.sql.tenant(row)

    def list_tenants(self) -> list[Tenant]:
        return self.sql.tenant.many(self._all(self.sql.list_tenants))

    def get_customer(self, tenant_id: str, customer_id: str) -> Customer | None:
        row = self._one(self.sql.get_customer, (tenant_id, customer_id))
        return None if row is None else self.sql.customer(row)

    def list_customers(self, tenant_id: str, limit: int, email: str | None) -> list[Customer]:
        if email is None:
            rows = self._all(self.sql.list_customers, (tenant_id, limit))
        else:
            rows = self._all(self.sql.list_customers_by_email, (tenant_id, email, limit))
        found: list[Customer] = self.sql.customer.many(rows)
        return found

    def get_endpoint(self, tenant_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        row = self._one(self.sql.get_endpoint, (endpoint_id, tenant_id))
        return None if row is None else self.sql.endpoint(row)

    def list_endpoints(self, tenant_id: str, limit: int) -> list[WebhookEndpoint]:
        found: list[WebhookEndpoint] = self.sql.endpoint.many(
            self._all(self.sql.list_endpoints, (tenant_id, limit))
        )
        return found

    def get_payment(self, tenant_id: str, payment_id: str) -> Payment | None:
        row = self._one(self.sql.get_payment, (payment_id, tenant_id))
        return None if row is None else self.sql.payment(row)

    def payment_tenant(self, payment_id: str) -> str | None:
        row = self._one(self.sql.payment_tenant, (payment_id,))
        return None if row is None else str(row[0])

    def list_payments(self, tenant_id: str, where: PaymentFilter, limit: int) -> list[Payment]:
        flags = (
            where.status is not None, where.currency is not None, where.before is not None,
            where.search is not None, where.down_to is not None,
        )  # fmt: skip
        params: list[Any] = [tenant_id, *_filter_params(where)]
        for key in (where.before, where.down_to):
            if key is not None:
                params += [self._time(key[0]), key[1]]
        sql = self.sql.built(("list_payments", *flags), lambda: _payments_page(self.sql, *flags))
        return self.sql.payment.many(self._all(sql, [*params, limit]))

    def payment_key(
        self, tenant_id: str, before: tuple[datetime, str] | None, offset: int
    ) -> tuple[datetime, str] | None:
        sql = self.sql.built(
            ("payment_key", before is not None),
            lambda: (
                "SELECT created_at, id FROM payments WHERE tenant_id = ?"
                + (" AND (created_at, id) < (?, ?)" if before is not None else "")
                + " ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?"
            ),
        )
        after = [] if before is None else [self._time(before[0]), before[1]]
        row = self._one(sql, [tenant_id, *after, offset])
        return None if row is None else (self._decode_time(row[0]), str(row[1]))

    def refunds(self, tenant_id: str, payment_id: str) -> list[Refund]:
        return self.sql.refund.many(self._all(self.sql.refunds, (payment_id, tenant_id)))

    def disputes(self, tenant_id: str, payment_id: str) -> list[Dispute]:
        return self.sql.dispute.many(self._all(self.sql.disputes, (payment_id, tenant_id)))

    def audit_for_payment(self, tenant_id: str, payment_id: str) -> list[AuditEntry]:
        rows = self._all(self.sql.audit_for_payment, (payment_id, tenant_id))
        return self.sql.audit.many(rows)

    def audit_chain(self, tenant_id: str) -> Iterator[dict[str, Any]]:
        """Rows with ``created_at`` as the chained ISO text (what the hash covers)."""
        mapper, dialect = self.sql.audit, self.sql.dialect
        at = mapper.names.index("created_at")
        for row in self._rows(self.sql.audit_chain, (tenant_id,)):
            values = list(row)
            text = dialect.time_text(values[at])
            values = mapper.values(values)
            values[at] = text
            yield dict(zip(mapper.names, values, strict=True))

    def audit_head(self, tenant_id: str) -> tuple[int, str] | None:
        row = self._one(self.sql.audit_head, (tenant_id,))
        return None if row is None else (int(row[0]), str(row[1]))

    def events(self, tenant_id: str, payment_id: str | None, limit: int) -> list[Event]:
        if payment_id is None:
            rows = self._all(self.sql.events, (tenant_id, limit))
        else:
            rows = self._all(self.sql.payment_events, (tenant_id, payment_id, limit))
        return self.sql.event.many(rows)

    def latest_events(
        self, tenant_id: str, limit: int, types: Sequence[str] | None = None
    ) -> list[Event]:
        if types is None:
            return self.sql.event.many(self._all(self.sql.latest_events, (tenant_id, limit)))
        if not types:
            return []
        marks = ", ".join("?" * len(types))
        sql = self.sql.built(
            ("latest_events", len(types)),
            lambda: (
                f"{self.sql.events_sql} AND type IN ({marks})"
                " ORDER BY created_at DESC, id DESC LIMIT ?"
            ),
        )
        return self.sql.event.many(self._all(sql, (tenant_id, *types, limit)))

    def fraud_decisions(self, tenant_id: str, payment_id: str) -> list[dict[str, Any]]:
        rows = self._all(self.sql.fraud_decisions, (payment_id, tenant_id))
        return self.sql.decision.many(rows)

    def list_rules(self) -> list[FraudRule]:
        return self._rules(self._all(self.sql.list_rules))

    def get_rule(self, rule_id: str) -> FraudRule | None:
        found = self._rules(self._all(self.sql.get_rule, (rule_id,)))
        return found[0] if found else None

    def due_authorizations(self, now: datetime, limit: int) -> list[Payment]:
        rows = self._all(self.sql.due_authorizations, (self._time(now), limit))
        return self.sql.payment.many(rows)

    def next_authorization_expiry(self) -> datetime | None:
        row = self._one(self.sql.next_authorization_expiry)
        return None if row is None or row[0] is None else self._decode_time(row[0])

    def pending_before(self, cutoff: datetime, limit: int) -> list[Payment]:
        rows = self._all(self.sql.pending_before, (self._time(cutoff), limit))
        return self.sql.payment.many(rows)

    def metrics(self, since: datetime, tenant_id: str | None) -> dict[str, Any]:
        return metrics(self, self._time(since), tenant_id)

    def get_meta(self, key: str) -> str | None:
        row = self._one(self.sql.get_meta, (key,))
        return None if row is None else str(row[0])


def _filters(status: bool, currency: bool, search: bool) -> str:
    text = " AND status = ?" if status else ""
    text += " AND currency = ?" if currency else ""
    return text + (
        " AND (lower(coalesce(description, '')) LIKE ? ESCAPE '\\'"
        " OR lower(coalesce(customer, '')) LIKE ? ESCAPE '\\')"
        if search
        else ""
    )


def _filter_params(where: PaymentFilter) -> list[Any]:
    """The parameters of ``_filters``' clauses, in their order."""
    found: list[Any] = [v for v in (where.status, where.currency) if v is not None]
    if where.search is not None:
        pattern = "%" + _like_escaped(where.search) + "%"
        found += [pattern, pattern]
    return found


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _payments_page(
    sql: Sql, status: bool, currency: bool, before: bool, search: bool, down_to: bool
) -> str:
    text = f"SELECT {', '.join(sql.payment.names)} FROM payments WHERE tenant_id = ?"
    text += _filters(status, currency, search)
    text += " AND (created_at, id) < (?, ?)" if before else ""
    text += " AND (created_at, id) >= (?, ?)" if down_to else ""
    return text + " ORDER BY created_at DESC, id DESC LIMIT ?"
