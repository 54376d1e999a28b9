"""``RemoteEngine``: the engine's command methods, over a live server's REST API.

Each method sends what ``Engine`` would be called with and turns the answer back into the
same records: a ``Payment`` (or receipt) in an ``Outcome`` whose ``replayed`` is the
``Idempotent-Replayed`` header and whose ``data`` is the response body, and an error body
(``{"error", "code", "details"}``) into the ``MockPayError`` subclass of its code. So the
scenario client logs and follows up on a server's answers exactly as on the engine's.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import httpx

from mockpay_core.domain.audit import ChainVerification
from mockpay_core.domain.fraud import FraudRule, RuleSpec
from mockpay_core.domain.model import (
    CaptureMethod,
    Dispute,
    DisputeReceipt,
    DisputeStatus,
    NewTenant,
    Outcome,
    Payment,
    Refund,
    RefundReceipt,
    Tenant,
)
from mockpay_core.domain.money import CURRENCY_EXPONENTS
from mockpay_core.domain.states import Status
from mockpay_core.errors import ERROR_CODES, MockPayError

TIMEOUT_S: Final = 60.0  # a clock advance delivers every webhook that falls due, in-request
CONNECTIONS_MAX: Final = 256  # a burst's threads each hold one


class RemoteUnavailable(RuntimeError):
    """The server did not answer, or answered something that is not MockPay Lab's API."""


@functools.cache
def _error_class(code: str) -> type[MockPayError]:
    """The engine's class for ``code``; a server-only code (``rate_limited``...) gets its own."""
    return ERROR_CODES.get(code) or type(f"RemoteError_{code}", (MockPayError,), {"code": code})


def error_from_response(r: httpx.Response) -> MockPayError:
    try:
        body = r.json()
        code, message = body["code"], body["error"]
    except (ValueError, KeyError, TypeError):
        raise RemoteUnavailable(f"{r.request.method} {r.request.url.path}: {r.status_code}"
                                f" {r.text[:200]!r}") from None  # fmt: skip
    cls = _error_class(code)
    err = cls.__new__(cls)
    MockPayError.__init__(err, message, details=body.get("details"))
    err.replayed = r.headers.get("Idempotent-Replayed") == "true"
    return err


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):  # a JSON number, as a client would send it
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _minor(major: str | None, currency: str) -> int:
    return 0 if major is None else int(Decimal(major).scaleb(CURRENCY_EXPONENTS[currency]))


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def payment(d: dict[str, Any], tenant_id: str) -> Payment:
    """A payment as ``server.wire.payment`` sends it, back into the engine's record."""
    c = d["currency"]
    return Payment(
        id=d["id"], tenant_id=tenant_id, amount_minor=d["amount_minor"], currency=c,
        status=Status(d["status"]), capture_method=CaptureMethod(d["capture_method"]),
        webhook_url=d["webhook_url"], idempotency_key=d["idempotency_key"],
        created_at=datetime.fromisoformat(d["created_at"]),
        updated_at=datetime.fromisoformat(d["updated_at"]),
        captured_minor=_minor(d["captured_amount"], c),
        refunded_minor=_minor(d["refund_amount"], c),
        disputed_minor=_minor(d["disputed_amount"], c), customer=d["customer"],
        description=d["description"], metadata=d["metadata"] or {}, failure_code=d["failure_code"],
        expires_at=_time(d["expires_at"]), refunded_at=_time(d["refunded_at"]),
        refund_reason=d["refund_reason"],
    )  # fmt: skip


class RemoteEngine:
    """The engine's commands over HTTP (``scenarios.target.PaymentApi``)."""

    def __init__(self, url: str, admin_token: str, transport: httpx.BaseTransport | None = None):
        limits = httpx.Limits(max_connections=CONNECTIONS_MAX, max_keepalive_connections=64)
        self.http = httpx.Client(
            base_url=url.rstrip("/"), timeout=TIMEOUT_S, limits=limits, transport=transport
        )
        self._admin = {"Authorization": f"Bearer {admin_token}"}
        self._keys: dict[str, str] = {}  # tenant id -> api key
        self.secrets: dict[str, list[str]] = {}  # tenant id -> webhook secrets, newest first

    def close(self) -> None:
        self.http.close()

    def call(
        self, method: str, path: str, *, tenant_id: str | None = None, key: str | None = None,
        body: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
    ) -> httpx.Response:  # fmt: skip
        """One request as a tenant (or as the admin); an error body raises its error."""
        headers = dict(self._admin if tenant_id is None else
                       {"Authorization": f"Bearer {self._keys[tenant_id]}"})  # fmt: skip
        if key is not None:
            headers["Idempotency-Key"] = key
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps({k: v for k, v in body.items() if v is not None}, default=_json)
        try:
            r = self.http.request(method, path, content=content, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise RemoteUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        if r.status_code >= 400:
            raise error_from_response(r)
        return r

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        return self.call(method, f"/api/admin{path}", **kw).json()

    # Tenants
    def register_tenant(
        self, name: object, email: object, rate_limit_tier: object = None
    ) -> NewTenant:
        d = self.call("POST", "/api/auth/register", body={"name": name, "email": email}).json()
        self._keys[d["tenant_id"]] = d["api_key"]
        self.secrets[d["tenant_id"]] = [d["webhook_secret"]]
        tenant = Tenant(
            d["tenant_id"], d["name"], d["email"], d["webhook_secret"], d["rate_limit_tier"],
            datetime.fromisoformat(d["created_at"]),
        )  # fmt: skip
        return NewTenant(tenant, d["api_key"])

    def rotate_webhook_secret(self, tenant_id: str) -> Tenant:
        d = self.call("POST", "/api/auth/rotate-secret", tenant_id=tenant_id).json()
        self.secrets[tenant_id].insert(0, d["webhook_secret"])
        me = self.call("GET", "/api/auth/me", tenant_id=tenant_id).json()
        return Tenant(
            tenant_id, me["name"], me["email"], d["webhook_secret"], me["rate_limit_tier"],
            datetime.fromisoformat(me["created_at"]), d["previous_webhook_secret"],
            _time(d["rotated_at"]),
        )  # fmt: skip

    # Payment commands
    def _command(self, tenant_id: str, path: str, key: str | None, body: dict[str, Any]) -> Any:
        r = self.call("POST", path, tenant_id=tenant_id, key=key, body=body)
        return r.json(), r.headers.get("Idempotent-Replayed") == "true"

    def _payment(
        self, tenant_id: str, path: str, key: str | None, body: dict[str, Any]
    ) -> Outcome[Payment]:
        d, replayed = self._command(tenant_id, path, key, body)
        return Outcome(payment(d["payment"], tenant_id), replayed, d)

    def create_payment(self, tenant_id: str, **request: Any) -> Outcome[Payment]:
        key = request.pop("idempotency_key", None)
        return self._payment(tenant_id, "/api/payments", key, request)

    def simulate(
        self, tenant_id: str, payment_id: str, status: object, **kw: Any
    ) -> Outcome[Payment]:
        body = {"status": status, "failure_code": kw.get("failure_code")}
        path = f"/api/payments/{payment_id}/simulate"
        return self._payment(tenant_id, path, kw.get("idempotency_key"), body)

    def capture(self, tenant_id: str, payment_id: str, **kw: Any) -> Outcome[Payment]:
        path = f"/api/payments/{payment_id}/capture"
        return self._payment(
            tenant_id, path, kw.get("idempotency_key"), {"amount": kw.get("amount")}
        )

    def cancel(self, tenant_id: str, payment_id: str, **kw: Any) -> Outcome[Payment]:
        path = f"/api/payments/{payment_id}/cancel"
        return self._payment(
            tenant_id, path, kw.get("idempotency_key"), {"reason": kw.get("reason")}
        )

    def review(
        self, tenant_id: str, payment_id: str, decision: object, **kw: Any
    ) -> Outcome[Payment]:
        r = self.call("POST", f"/api/admin/payments/{payment_id}/review",
                      key=kw.get("idempotency_key"), body={"decision": decision})  # fmt: skip
        d = r.json()
        replayed = r.headers.get("Idempotent-Replayed") == "true"
        return Outcome(payment(d["payment"], tenant_id), replayed, d)

    def refund(
        self, tenant_id: str, payment_id: str, amount: object, **kw: Any
    ) -> Outcome[RefundReceipt]:
        body = {"refund_amount": amount, "reason": kw.get("reason")}
        path = f"/api/payments/{payment_id}/refund"
        d, replayed = self._command(tenant_id, path, kw.get("idempotency_key"), body)
        p, r = payment(d["payment"], tenant_id), d["refund"]
        refund = Refund(
            r["id"], p.id, tenant_id, _minor(r["amount"], r["currency"]), r["currency"],
            r["reason"], datetime.fromisoformat(r["created_at"]),
        )  # fmt: skip
        return Outcome(RefundReceipt(p, refund), replayed, d)

    def _disputed(self, tenant_id: str, path: str, key: str | None, body: dict[str, Any]) -> Any:
        d, replayed = self._command(tenant_id, path, key, body)
        p, x = payment(d["payment"], tenant_id), d["dispute"]
        dispute = Dispute(
            x["id"], p.id, tenant_id, _minor(x["amount"], x["currency"]), x["currency"],
            x["reason"], DisputeStatus(x["status"]), datetime.fromisoformat(x["created_at"]),
            _time(x["resolved_at"]),
        )  # fmt: skip
        return Outcome(DisputeReceipt(p, dispute), replayed, d)

    def open_dispute(self, tenant_id: str, payment_id: str, **kw: Any) -> Outcome[DisputeReceipt]:
        body = {"amount": kw.get("amount"), "reason": kw.get("reason")}
        path = f"/api/payments/{payment_id}/dispute"
        out: Outcome[DisputeReceipt] = self._disputed(
            tenant_id, path, kw.get("idempotency_key"), body
        )
        return out

    def resolve_dispute(
        self, tenant_id: str, payment_id: str, outcome: object, **kw: Any
    ) -> Outcome[DisputeReceipt]:
        path = f"/api/payments/{payment_id}/dispute/resolve"
        out: Outcome[DisputeReceipt] = self._disputed(
            tenant_id, path, kw.get("idempotency_key"), {"outcome": outcome}
        )
        return out

    # Admin
    def create_fraud_rule(self, spec: object, tenant_id: str | None = None) -> FraudRule:
        clean = spec if isinstance(spec, RuleSpec) else RuleSpec.model_validate(spec)
        body = {**clean.model_dump(mode="python"), "tenant_id": tenant_id}
        d = self.admin("POST", "/fraud-rules", body=body)
        created = datetime.fromisoformat(d["created_at"])
        return FraudRule(d["id"], clean, created, datetime.fromisoformat(d["updated_at"]))

    def run_due(self) -> dict[str, int]:
        """What is due at the server's current time (a clock advance of 0 s)."""
        done = self.admin("POST", "/clock/advance", body={"seconds": 0})
        return {k: v for k, v in done.items() if isinstance(v, int)}

    def verify_audit(self, tenant_id: str) -> ChainVerification:
        d = self.admin("GET", f"/audit/{tenant_id}/verify")
        return ChainVerification(
            d["ok"], d["rows_checked"], d["broken_row_id"], d["broken_seq"], d["reason"]
        )
