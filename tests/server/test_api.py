"""The REST API over real HTTP: the original's flow, its error bodies, and ours."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import pytest
import standardwebhooks

from server.logs import JsonLines
from server.settings import Settings
from tests.delivery.receiver import running_receiver
from tests.server.conftest import HOOK, Live


def create(live: Live, auth: dict[str, str], key: str, **body: object) -> dict[str, object]:
    body = {"amount": 5000, "currency": "INR", "webhook_url": HOOK, **body}
    r = live.http.post("/api/payments", headers={**auth, "Idempotency-Key": key}, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_the_original_readme_flow(live: Live) -> None:
    auth, tenant = live.tenant("Test Dev")
    assert tenant["message"] == "Tenant registered successfully"
    assert len(str(tenant["api_key"])) == 64 and str(tenant["webhook_secret"]).startswith("whsec_")
    created = create(live, auth, "pay-001")
    assert created["status"] == "pending"
    pid = created["payment_id"]
    r = live.http.post(f"/api/payments/{pid}/simulate", headers=auth, json={"status": "success"})
    assert (r.status_code, r.json()["payment_id"], r.json()["status"]) == (200, pid, "success")
    r = live.http.get(f"/api/payments/{pid}/audit", headers=auth)
    history = r.json()["history"]
    assert r.json()["total_events"] == 2
    assert [(h["old_status"], h["new_status"], h["triggered_by"]) for h in history] == [
        (None, "pending", "create_api"), ("pending", "success", "simulate_api")
    ]  # fmt: skip
    r = live.http.get("/api/admin/metrics", headers=live.admin)
    assert r.status_code == 200 and r.json()["payments"]["total"] == 1
    assert r.json()["payments"]["by_status"]["success"] == 1
    me = live.http.get("/api/auth/me", headers=auth).json()
    assert me["api_key"] == tenant["api_key"] and me["tenant_id"] == tenant["tenant_id"]


def test_refunds_and_listing_in_the_originals_shapes(live: Live) -> None:
    auth, _ = live.tenant()
    pid = create(live, auth, "p1", amount=49.99, currency="USD")["payment_id"]
    live.http.post(f"/api/payments/{pid}/simulate", headers=auth, json={"status": "success"})
    r = live.http.post(
        f"/api/payments/{pid}/refund", headers=auth, json={"refund_amount": 9.99, "reason": "r"}
    )
    body = r.json()
    assert (r.status_code, body["status"], body["original_amount"], body["refund_amount"]) == (
        200, "partially_refunded", "49.99", "9.99"
    )  # fmt: skip
    assert body["refund_reason"] == "r" and body["refunded_at"].endswith("Z")
    page = live.http.get("/api/payments", headers=auth, params={"limit": 1}).json()
    assert (page["total"], page["has_more"], page["next_cursor"]) == (1, False, None)
    row = page["data"][0]
    for field in ("id", "amount", "currency", "status", "webhook_url", "idempotency_key",
                  "refund_amount", "refunded_at", "created_at"):  # fmt: skip
        assert field in row
    assert (row["amount"], row["refund_amount"], row["idempotency_key"]) == ("49.99", "9.99", "p1")


def test_idempotency_headers(live: Live) -> None:
    auth, _ = live.tenant()
    headers = {**auth, "Idempotency-Key": "k"}
    first = live.http.post(
        "/api/payments",
        headers=headers,
        json={"amount": 10, "currency": "USD", "webhook_url": HOOK},
    )
    again = live.http.post(
        "/api/payments",
        headers=headers,
        json={"amount": 10.0, "currency": "usd", "webhook_url": HOOK},
    )
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    other = live.http.post("/api/payments", headers={**auth, "Idempotency-Key": "k"},
                           json={"amount": 11, "currency": "USD", "webhook_url": HOOK})  # fmt: skip
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    missing = live.http.post("/api/payments", headers=auth, json={})
    assert (missing.status_code, missing.json()["error"]) == (400, "Idempotency-Key required")
    assert (
        first.headers["request-id"] and first.headers["request-id"] != again.headers["request-id"]
    )
    assert uuid.UUID(first.headers["request-id"]).version == 4


def test_bad_input_gets_a_clear_4xx_never_a_500(live: Live) -> None:
    auth, _ = live.tenant()
    key = {**auth, "Idempotency-Key": "x" * 10}
    cases = [
        (live.http.get("/api/payments"), 401, "API key missing"),
        (
            live.http.get("/api/payments", headers={"Authorization": "Bearer nope"}),
            401,
            "Invalid API key",
        ),
        (
            live.http.post("/api/payments", headers=key, content=b"{bad"),
            400,
            "must be a JSON object",
        ),
        (
            live.http.post(
                "/api/payments",
                headers={**key, "content-type": "application/json"},
                content=b"{bad",
            ),
            400,
            "must be a JSON object",
        ),
        (
            live.http.post(
                "/api/payments",
                headers=key,
                json={"amount": "5000", "currency": "XYZ", "webhook_url": HOOK},
            ),
            400,
            "currency: must be one of",
        ),
        (
            live.http.post(
                "/api/payments",
                headers=key,
                json={"amount": 0.001, "currency": "USD", "webhook_url": HOOK},
            ),
            400,
            "amount: USD allows at most 2 decimal places",
        ),
        (
            live.http.post(
                "/api/payments",
                headers={**auth, "Idempotency-Key": "x" * 256},
                json={"amount": 1, "currency": "USD", "webhook_url": HOOK},
            ),
            400,
            "idempotency_key: must be at most 255",
        ),
        (
            live.http.post("/api/payments", headers=key, content=b"x" * 1_100_000),
            413,
            "Request body over",
        ),
        (live.http.get("/api/payments", headers=auth, params={"limit": -5}), 400, "limit"),
        (live.http.get("/api/payments", headers=auth, params={"limit": "ten"}), 400, "limit"),
        (
            live.http.get("/api/payments", headers=auth, params={"cursor": "garbage"}),
            400,
            "Invalid cursor",
        ),
        (live.http.get("/api/payments/not-a-uuid", headers=auth), 404, "Payment not found"),
        (live.http.get("/api/nothing", headers=auth), 404, "Route GET /api/nothing not found"),
        (
            live.http.post("/api/auth/register", json={"name": "x"}),
            400,
            "Name and email are required",
        ),
    ]
    for response, status, says in cases:
        assert response.status_code == status, (says, response.text)
        assert says in response.json()["error"], response.json()
        assert "code" in response.json()


def test_another_tenants_payment_is_not_found_on_every_route(live: Live) -> None:
    owner, _ = live.tenant("Owner")
    other, _ = live.tenant("Other")
    pid = create(live, owner, "p")["payment_id"]
    live.http.post(f"/api/payments/{pid}/simulate", headers=owner, json={"status": "success"})
    calls = [
        ("GET", ""), ("GET", "/audit"), ("GET", "/refunds"), ("GET", "/events"),
        ("POST", "/simulate", {"status": "failed"}), ("POST", "/refund", {"refund_amount": 1}),
        ("POST", "/capture", {}), ("POST", "/cancel", {}), ("POST", "/dispute", {}),
        ("POST", "/dispute/resolve", {"outcome": "won"}),
    ]  # fmt: skip
    for method, path, *body in calls:
        r = live.http.request(method, f"/api/payments/{pid}{path}", headers=other,
                              json=body[0] if body else None)  # fmt: skip
        assert (r.status_code, r.json()["error"]) == (404, "Payment not found"), (method, path)
    assert live.http.get(f"/api/payments/{pid}", headers=owner).json()["status"] == "success"


def test_admin_routes_need_the_admin_token(live: Live) -> None:
    auth, tenant = live.tenant()
    for headers, status in (({}, 401), (auth, 403), ({"Authorization": "Bearer wrong"}, 401)):
        r = live.http.get("/api/admin/users", headers=headers)
        assert r.status_code == status
    users = live.http.get("/api/admin/users", headers=live.admin).json()
    assert users["total"] == 1
    text = json.dumps(users)
    assert str(tenant["api_key"]) not in text and str(tenant["webhook_secret"]) not in text
    rules = live.http.get("/api/admin/fraud-rules", headers=live.admin).json()["rules"]
    toggled = live.http.patch(f"/api/admin/fraud-rules/{rules[0]['id']}", headers=live.admin)
    assert toggled.json()["message"] == "Rule disabled"
    assert live.http.patch("/api/admin/fraud-rules/nope", headers=live.admin).status_code == 404


def test_webhooks_are_delivered_by_the_server_and_verify(live: Live) -> None:
    auth, tenant = live.tenant()
    with running_receiver() as receiver:
        pid = create(live, auth, "w", webhook_url=receiver.url)["payment_id"]
        live.http.post(f"/api/payments/{pid}/simulate", headers=auth, json={"status": "success"})
        for _ in range(200):
            if receiver.requests:
                break
            __import__("time").sleep(0.05)
        ((headers, body),) = receiver.requests
    payload = standardwebhooks.Webhook(str(tenant["webhook_secret"])).verify(body, headers)
    assert (payload["payment_id"], payload["status"], payload["event"]) == (
        pid,
        "success",
        "payment.success",
    )


def test_clock_control_on_a_simulated_server(live_simulated: Live, live: Live) -> None:
    auth, _ = live_simulated.tenant()
    pid = create(live_simulated, auth, "m", capture_method="manual")["payment_id"]
    live_simulated.http.post(
        f"/api/payments/{pid}/simulate", headers=auth, json={"status": "success"}
    )
    r = live_simulated.http.post("/api/admin/clock/advance", headers=live_simulated.admin,
                                 json={"seconds": 8 * 86400})  # fmt: skip
    assert r.status_code == 200 and r.json()["authorizations_expired"] == 1
    assert (
        live_simulated.http.get(f"/api/payments/{pid}", headers=auth).json()["status"] == "canceled"
    )
    r = live.http.post("/api/admin/clock/advance", headers=live.admin, json={"seconds": 1})
    assert (r.status_code, r.json()["code"]) == (409, "clock_not_simulated")


def access(caplog: pytest.LogCaptureFixture) -> list[Any]:
    return [r for r in caplog.records if r.name == "mockpay.access"]


def test_one_structured_log_line_per_request(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    auth, tenant = live.tenant()
    with caplog.at_level(logging.INFO, logger="mockpay.access"):
        created = create(live, auth, "logged")
        live.http.get(f"/api/payments/{created['payment_id']}", headers=auth)
        # The line is logged once the response is sent: the client can read it first.
        deadline = time.monotonic() + 5
        while not any(r.fields["method"] == "GET" for r in access(caplog)):
            assert time.monotonic() < deadline, "no access log line"
            time.sleep(0.01)
    lines = [r.fields for r in access(caplog)]
    post = next(f for f in lines if (f["method"], f["path"]) == ("POST", "/api/payments"))
    get = next(f for f in lines if f["method"] == "GET")
    assert (post["method"], post["status"], post["payment_id"]) == (
        "POST",
        201,
        created["payment_id"],
    )
    assert get["tenant_id"] == tenant["tenant_id"] and get["payment_id"] == created["payment_id"]
    assert post["request_id"] and post["duration_ms"] >= 0
    line = json.loads(JsonLines().format(access(caplog)[-1]))
    assert line["logger"] == "mockpay.access" and line["status"] == 200


def test_a_rotated_secret_and_a_new_tier_show_at_once(live: Live) -> None:
    """The server caches API keys; what this process changes is never served stale."""
    auth, tenant = live.tenant("Rotating Dev")
    me = live.http.get("/api/auth/me", headers=auth).json()
    assert me["webhook_secret"] == tenant["webhook_secret"]
    rotated = live.http.post("/api/auth/rotate-secret", headers=auth).json()
    me = live.http.get("/api/auth/me", headers=auth).json()
    assert me["webhook_secret"] == rotated["webhook_secret"] != tenant["webhook_secret"]
    r = live.http.patch(
        f"/api/admin/users/{tenant['tenant_id']}", headers=live.admin,
        json={"rate_limit_tier": "original"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    r = live.http.get("/api/payments", headers=auth)
    assert r.headers["RateLimit-Limit"] == "100"


def test_a_tenant_lists_and_replays_its_own_dead_letters(live_simulated: Live) -> None:
    live = live_simulated
    auth, _ = live.tenant("Dead Letters")
    other, _ = live.tenant("Someone Else")
    pid = create(live, auth, "dl", webhook_url="http://127.0.0.1:9/refused")["payment_id"]
    live.http.post(f"/api/payments/{pid}/simulate", headers=auth, json={"status": "success"})
    for _ in range(12):  # past the whole retry schedule, half a day at a time
        r = live.http.post("/api/admin/clock/advance", headers=live.admin, json={"seconds": 43200})
        assert r.status_code == 200, r.text
    jobs = live.http.get("/api/webhooks/dead-letters", headers=auth).json()["failed_jobs"]
    assert [(j["payment_id"], j["reason"]) for j in jobs] == [(pid, "attempts_exhausted")]
    assert live.http.get("/api/webhooks/dead-letters", headers=other).json()["total"] == 0
    event_id = jobs[0]["job_id"]
    r = live.http.post(f"/api/webhooks/dead-letters/{event_id}/replay", headers=other)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = live.http.post(f"/api/webhooks/dead-letters/{event_id}/replay", headers=auth)
    assert r.status_code == 200 and r.json()["original_job_id"] == event_id
    assert live.http.get("/api/webhooks/dead-letters", headers=auth).json()["total"] == 0


def test_engine_calls_run_on_a_small_thread_pool(live: Live) -> None:
    """2 threads on SQLite (one writer at a time), 16 on PostgreSQL, unless MOCKPAY_THREADS."""
    config = live.http.get("/api/admin/config", headers=live.admin).json()
    assert config["threads"] == (16 if live.db.startswith("postgresql") else 2)
    assert Settings(db="x.db", threads=7).engine_threads() == 7
    pg = "postgresql://u@127.0.0.1/x"
    assert [Settings(db=pg).writer_threads(), Settings(db=pg, workers=2).writer_threads()] == [2, 1]
    assert Settings(db="x.db").writer_threads() == 1
    assert Settings(db="x.db", writers=3).writer_threads() == 3


def test_a_bad_create_is_refused_before_it_queues_for_the_writer(live: Live) -> None:
    """Validation runs on the event loop: a bad request costs the writer thread nothing."""
    auth, _ = live.tenant()

    def writes() -> int:
        return int(live.http.get("/api/admin/config", headers=live.admin).json()["write_commands"])

    before = writes()
    body = {"amount": -5, "currency": "XXX", "webhook_url": "ftp://x"}
    r = live.http.post("/api/payments", json=body, headers={**auth, "Idempotency-Key": "bad"})
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["details"]["errors"]} >= {"amount", "currency"}
    assert writes() == before
    good = {"amount": 5, "currency": "USD", "webhook_url": "http://127.0.0.1:9/h"}
    r = live.http.post("/api/payments", json=good, headers={**auth, "Idempotency-Key": "bad"})
    assert r.status_code == 201  # nothing was stored for the key
    if not live.db.startswith("postgresql"):
        assert writes() == before + 1


ODD_BODIES = [  # (content, Content-Type): bodies the create route reads itself
    (b"{bad", "application/json"),
    (b"\xff\xfe{}", "application/json"),  # not UTF-8
    (b"[1, 2]", "application/json"),
    (b"null", "application/json"),
    (b'"text"', "application/json"),
    (b"", "application/json"),
    (b'{"status": "success"}', None),
    (b'{"status": "success"}', "text/plain"),
    (b'{"status": "success"}', "application/x-www-form-urlencoded"),
]


@pytest.mark.parametrize(("content", "content_type"), ODD_BODIES)
def test_create_reads_odd_bodies_as_fastapi_reads_the_other_routes(
    live: Live, content: bytes, content_type: str | None
) -> None:
    """POST /api/payments parses its body itself (server/deps.py json_object): each odd body,
    with and without an API key, is answered as FastAPI answers it on simulate, whose body
    FastAPI parses: the same status and code (bad JSON before authentication, the rest
    after it), never a 500."""
    auth, _ = live.tenant(f"Odd {uuid.uuid4().hex[:8]}")
    created = create(live, auth, "odd-body-target")
    simulate = f"/api/payments/{created['payment_id']}/simulate"
    typed = {"Content-Type": content_type} if content_type else {}
    for credentials in (auth, {}):
        headers = {**credentials, **typed, "Idempotency-Key": f"odd-{uuid.uuid4()}"}
        ours = live.http.post("/api/payments", content=content, headers=headers)
        theirs = live.http.post(simulate, content=content, headers=headers)
        assert ours.status_code in (400, 401), ours.text
        assert (ours.status_code, ours.json()["code"]) == (
            theirs.status_code,
            theirs.json()["code"],
        ), (ours.text, theirs.text)


def test_create_takes_any_json_content_type_and_ignores_unknown_fields(live: Live) -> None:
    auth, _ = live.tenant("Suffix Json")
    body = {"amount": 10, "currency": "USD", "webhook_url": HOOK, "colour": "blue"}
    for i, content_type in enumerate(
        ["application/json; charset=utf-8", "application/merchant+json", "Application/JSON"]
    ):
        r = live.http.post(
            "/api/payments",
            content=json.dumps(body).encode(),
            headers={**auth, "Content-Type": content_type, "Idempotency-Key": f"suffix-{i}"},
        )
        assert r.status_code == 201, (content_type, r.text)
        assert "colour" not in r.json()["payment"]
