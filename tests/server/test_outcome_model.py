"""The outcome model: pending payments settle by themselves after a delay."""

from __future__ import annotations

import time
from pathlib import Path

from server.settings import Settings
from tests.server.conftest import ADMIN, HOOK, _free_port, serve


def test_simulated_clock_settles_on_advance(tmp_path: Path) -> None:
    settings = Settings(db=str(tmp_path / "o.db"), port=_free_port(), admin_token=ADMIN,
                        clock="simulated", settle_after_s=5, settle_success_p=1.0)  # fmt: skip
    for live in serve(settings):
        auth, _ = live.tenant()
        r = live.http.post("/api/payments", headers={**auth, "Idempotency-Key": "a"},
                           json={"amount": 10, "currency": "USD", "webhook_url": HOOK})  # fmt: skip
        pid = r.json()["payment_id"]
        advanced = live.http.post("/api/admin/clock/advance", headers=live.admin,
                                  json={"seconds": 4})  # fmt: skip
        assert advanced.json()["payments_settled"] == 0
        advanced = live.http.post("/api/admin/clock/advance", headers=live.admin,
                                  json={"seconds": 2})  # fmt: skip
        assert advanced.json()["payments_settled"] == 1
        payment = live.http.get(f"/api/payments/{pid}", headers=auth).json()
        assert payment["status"] == "success"
        history = live.http.get(f"/api/payments/{pid}/audit", headers=auth).json()["history"]
        assert history[-1]["triggered_by"] == "auto_settlement"


def test_system_clock_settles_in_the_background(tmp_path: Path) -> None:
    settings = Settings(db=str(tmp_path / "o.db"), port=_free_port(), admin_token=ADMIN,
                        settle_after_s=0.2, settle_success_p=0.0)  # fmt: skip
    for live in serve(settings):
        auth, _ = live.tenant()
        r = live.http.post("/api/payments", headers={**auth, "Idempotency-Key": "a"},
                           json={"amount": 10, "currency": "USD", "webhook_url": HOOK})  # fmt: skip
        pid = r.json()["payment_id"]
        for _ in range(100):
            status = live.http.get(f"/api/payments/{pid}", headers=auth).json()["status"]
            if status != "pending":
                break
            time.sleep(0.05)
        assert status == "failed"
