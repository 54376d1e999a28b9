"""The books over real HTTP: balance, its transactions, payouts, fees and reconciliation."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from server.settings import Settings
from tests.server.conftest import ADMIN, Live, _free_port, serve
from tests.server.test_api import create


def test_a_payment_through_the_books(live_simulated: Live) -> None:
    live = live_simulated
    auth, tenant = live.tenant()
    pid = create(live, auth, "pay-1", amount=100, currency="USD")["payment_id"]
    live.http.post(f"/api/payments/{pid}/simulate", headers=auth, json={"status": "success"})
    (usd,) = live.http.get("/api/balance", headers=auth).json()["balances"]
    assert (usd["currency"], usd["pending"], usd["available"]) == ("USD", "96.80", "0.00")
    page = live.http.get("/api/balance/transactions?limit=2", headers=auth).json()
    assert page["has_more"] and [e["account"] for e in page["data"]] == ["network", "pending"]
    rest = live.http.get(
        f"/api/balance/transactions?starting_after={page['next_cursor']}", headers=auth
    ).json()
    assert [e["seq"] for e in rest["data"]] == [3] and not rest["has_more"]

    r = live.http.post("/api/payouts", headers=auth, json={"currency": "USD"})
    assert (r.status_code, r.json()["code"]) == (400, "balance_insufficient")
    r = live.http.post("/api/admin/clock/advance", headers=live.admin, json={"seconds": 172800})
    assert (r.json()["captures_settled"], r.json()["payouts_made"]) == (1, 1), r.text
    (usd,) = live.http.get("/api/balance", headers=auth).json()["balances"]
    assert (usd["pending_minor"], usd["available_minor"]) == (0, 0)
    payouts = live.http.get("/api/payouts", headers=auth).json()
    assert payouts["total"] == 1
    assert payouts["data"][0] | {"id": "", "created_at": ""} == {
        "id": "", "currency": "USD", "amount": "96.80", "amount_minor": 9680, "status": "paid",
        "failure_code": None, "method": "scheduled", "created_at": "",
    }  # fmt: skip

    r = live.http.get(f"/api/admin/reconcile/{tenant['tenant_id']}", headers=live.admin)
    assert r.json() == {"tenant_id": tenant["tenant_id"], "ok": True, "differences": []}


def test_fees_are_the_admins_and_errors_are_named(live: Live) -> None:
    auth, tenant = live.tenant()
    tid = tenant["tenant_id"]
    r = live.http.put(f"/api/admin/fees/{tid}/usd", headers=live.admin, json={"rate_bp": 100})
    assert r.status_code == 200 and r.json()["rate_bp"] == 100 and r.json()["fixed_minor"] == 30
    assert live.http.get(f"/api/admin/fees/{tid}/USD", headers=live.admin).json() == r.json()
    r = live.http.put(f"/api/admin/fees/{tid}/USD", headers=live.admin, json={"rate_bp": -5})
    assert (r.status_code, r.json()["code"]) == (400, "validation_error")
    r = live.http.put(f"/api/admin/fees/{tid}/USD", headers=auth, json={})
    assert r.status_code in (401, 403)
    r = live.http.get("/api/admin/reconcile/nobody", headers=live.admin)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = live.http.get("/api/balance/transactions?limit=0", headers=auth)
    assert (r.status_code, r.json()["code"]) == (400, "validation_error")
    r = live.http.get("/api/balance/transactions?starting_after=x", headers=auth)
    assert r.status_code == 400
    r = live.http.post("/api/payouts", headers=auth, json={"currency": "XYZ"})
    assert (r.status_code, r.json()["code"]) == (400, "validation_error")
    r = live.http.post("/api/payouts", headers=auth, json={"currency": "USD", "amount": "x"})
    assert r.status_code == 400
    assert live.http.get("/api/balance").status_code == 401


def test_the_ledgers_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"SETTLEMENT_DELAY_S": "3600", "PAYOUT_INTERVAL_S": "7200",
                        "PAYOUT_FAILURE_P": "1", "FEE_RATE_BP": "100", "FEE_FIXED_MINOR": "0",
                        "REFUND_RETURNS_FEE": "true"}.items():  # fmt: skip
        monkeypatch.setenv(f"MOCKPAY_{name}", value)
    settings = Settings(db=str(tmp_path / "l.db"), port=_free_port(), admin_token=ADMIN,
                        clock="simulated")  # fmt: skip
    for live in serve(settings):
        config = live.http.get("/api/admin/config", headers=live.admin).json()
        assert (config["settlement_delay_s"], config["payout_interval_s"]) == (3600, 7200)
        assert config["fees"] == {"rate_bp": 100, "fixed_minor": 0, "dispute_fee_minor": 1500,
                                  "refund_returns_fee": True}  # fmt: skip
        auth, tenant = live.tenant()
        pid = create(live, auth, "pay-1", amount=100, currency="USD")["payment_id"]
        live.http.post(f"/api/payments/{pid}/simulate", headers=auth, json={"status": "success"})
        (usd,) = live.http.get("/api/balance", headers=auth).json()["balances"]
        assert usd["pending_minor"] == 9_900  # 1 % and no fixed part
        r = live.http.post("/api/admin/clock/advance", headers=live.admin, json={"seconds": 3600})
        assert (r.json()["captures_settled"], r.json()["payouts_made"]) == (1, 1), r.text
        (failed,) = live.http.get("/api/payouts", headers=auth).json()["data"]
        assert failed["status"] == "failed"  # every payout fails; its money came back
        fees = live.http.get(f"/api/admin/fees/{tenant['tenant_id']}/USD", headers=live.admin)
        assert fees.json()["rate_bp"] == 100


def test_bad_ledger_settings_are_refused_by_name() -> None:
    with pytest.raises(pydantic.ValidationError) as exc:
        Settings(settlement_delay_s=-1, payout_interval_s=60)
    assert {e["loc"][0] for e in exc.value.errors()} == {"settlement_delay_s", "payout_interval_s"}
