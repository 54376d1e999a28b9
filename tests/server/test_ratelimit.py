"""Rate limits per tenant tier, on the simulated clock."""

from __future__ import annotations

from tests.server.conftest import Live


def test_the_original_tier_allows_100_per_15_minutes(live_simulated: Live) -> None:
    live = live_simulated
    auth, tenant = live.tenant()
    other, _ = live.tenant("Other")
    r = live.http.patch(f"/api/admin/users/{tenant['tenant_id']}", headers=live.admin,
                        json={"rate_limit_tier": "original"})  # fmt: skip
    assert r.json()["rate_limit_tier"] == "original"
    for i in range(100):
        r = live.http.get("/api/payments", headers=auth)
        assert r.status_code == 200
        assert r.headers["ratelimit-remaining"] == str(99 - i)
    over = live.http.get("/api/payments", headers=auth)
    assert (over.status_code, over.json()["code"]) == (429, "rate_limited")
    assert int(over.headers["retry-after"]) == int(over.headers["ratelimit-reset"]) <= 900
    assert over.headers["ratelimit-limit"] == "100" and over.headers["ratelimit-remaining"] == "0"
    assert live.http.get("/api/payments", headers=other).status_code == 200  # per tenant
    live.http.post("/api/admin/clock/advance", headers=live.admin, json={"seconds": 900})
    assert live.http.get("/api/payments", headers=auth).status_code == 200


def test_unknown_tiers_are_refused(live: Live) -> None:
    _, tenant = live.tenant()
    r = live.http.patch(f"/api/admin/users/{tenant['tenant_id']}", headers=live.admin,
                        json={"rate_limit_tier": "gold"})  # fmt: skip
    assert r.status_code == 400 and "rate_limit_tier" in r.json()["error"]
